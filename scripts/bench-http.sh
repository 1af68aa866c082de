#!/usr/bin/env bash
# The HTTP listener's rates, with clients outside the server: JSON calls (wrk, 16 connections,
# one thread) against gRPC Invoke (gload, 16 in flight on one connection) taking turns for ROUNDS
# rounds of SECONDS_PER_ROUND seconds each, then the log's tiles (wrk) on a log of 300 leaves.
#   scripts/bench-http.sh [WASMRPC_BINARY]   (default .build/release/wasmrpc; needs wrk, curl, python3, $GLOAD
#   and the interop tests' venv)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/wasmrpc}
rounds=${ROUNDS:-5}; seconds=${SECONDS_PER_ROUND:-10}
: "${GLOAD:?set GLOAD to the gload binary (sh ../shared/tools/gload/build.sh)}"
work=$(mktemp -d)
"$bin" serve --data "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --log-level warning >"$work/out" 2>"$work/err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "^http on " "$work/out" && break; sleep 0.1; done
grpc=$(awk '/^listening on /{print $3}' "$work/out"); http=$(awk '/^http on /{print $3}' "$work/out")
id=$(curl -sf -F wasm=@Guests/complex/complex.wasm -F descriptor=@Guests/complex/complex.pb "http://$http/v1/modules" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["module"]["id"])')
body='{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}'
# The gRPC request: wasmrpc.v1.InvokeRequest{metadata.id, request{name "mul", parameters Any(ComplexRequest)}}.
python3 - "$id" >"$work/invoke.hex" <<'PY'
import struct, sys
def field(number, payload): return bytes([number << 3 | 2]) + varint(len(payload)) + payload
def varint(n):
    out = b""
    while True:
        out += bytes([n & 0x7F | (0x80 if n > 0x7F else 0)]); n >>= 7
        if not n: return out
def fixed32(number, value): return bytes([number << 3 | 5]) + struct.pack("<f", value)
complex_ = lambda r, i: fixed32(1, r) + fixed32(2, i)
request = field(1, complex_(1, 2)) + field(2, complex_(3, 4))
any_ = field(1, b"type.googleapis.com/complex.ComplexRequest") + field(2, request)
print((field(1, field(1, sys.argv[1].encode())) + field(2, field(1, b"mul") + field(2, any_))).hex())
PY
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$body'" >"$work/post.lua"
json_url="http://$http/v1/modules/$id/functions/mul"
[ "$(curl -sf -H "Content-Type: application/json" -d "$body" "$json_url")" = '{"result":{"real":-5.0,"imag":10.0}}' ] || { echo "the JSON call does not answer -5+10i" >&2; exit 1; }
"$GLOAD" -addr "$grpc" -method /wasmrpc.v1.Invoker/Invoke -body "$work/invoke.hex" -c 16 -d 2s >/dev/null
wrk -t1 -c16 -d2s -s "$work/post.lua" "$json_url" >/dev/null
echo "round  gRPC Invoke/s (gload)  JSON call/s (wrk)  ratio"
for round in $(seq "$rounds"); do
  g=$("$GLOAD" -addr "$grpc" -method /wasmrpc.v1.Invoker/Invoke -body "$work/invoke.hex" -c 16 -d "${seconds}s" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["errors"] == 0, d; print(int(d["rps"]))')
  j=$(wrk -t1 -c16 -d"${seconds}s" -s "$work/post.lua" "$json_url" | tee "$work/wrk.out" | awk '/Requests\/sec/{print int($2)}')
  ! grep -q "Non-2xx" "$work/wrk.out" || { cat "$work/wrk.out" >&2; exit 1; }
  echo "$round  $g  $j  $(python3 -c "print(round($j / $g, 2))")"
done
# A log of 300 leaves: 299 distinct copies of the echo guest besides the complex module.
# (The interop tests' venv has what Tests/Interop/test_log.py imports: Tests/Interop/run.sh makes it.)
"${PYTHON:-.venv/bin/python}" - "$http" <<'PY'
import sys, urllib.request, uuid
sys.path.insert(0, "Tests/Interop")
from test_log import echo_copy, echo_descriptor
descriptor = echo_descriptor().SerializeToString()
for n in range(299):
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n".encode() + v + b"\r\n"
                    for k, v in [("wasm", echo_copy(n)), ("descriptor", descriptor)]) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"http://{sys.argv[1]}/v1/modules", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    urllib.request.urlopen(request, timeout=60).read()
PY
echo "tile                 requests/s (round 1 / 2)"
for path in checkpoint tile/0/000 tile/entries/000 tile/0/001.p/44; do
  a=$(wrk -t2 -c16 -d5s "http://$http/log/$path" | awk '/Requests\/sec/{print int($2)}')
  b=$(wrk -t2 -c16 -d5s "http://$http/log/$path" | awk '/Requests\/sec/{print int($2)}')
  echo "$path  $a / $b"
done
