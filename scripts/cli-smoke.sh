#!/usr/bin/env bash
# Smoke-tests the wasmrpc CLI as a user would run it: `call` on local modules, then `serve` on a
# free loopback port with a temporary data directory and the README tour against it (add, list,
# describe, invoke, get, log, the fabcar chaincode with state, tx and state verify), a clean stop on SIGTERM, a bearer token, mutual TLS on the gRPC port and the HTTP listener (certificates made
# with openssl), the offline `log verify`, and a short `bench`. Usage: scripts/cli-smoke.sh [WASMRPC_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
wasmrpc=${1:-.build/debug/wasmrpc}
fail() { echo "cli-smoke: $*" >&2; exit 1; }
work=$(mktemp -d)
export XDG_CONFIG_HOME="$work/config"   # pinned log keys and checkpoints go here, not in ~/.config
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- call"
out=$("$wasmrpc" call Guests/echo/echo.wasm echo --input hello)
[ "$out" = "hello" ] || fail "expected 'hello' from echo, got '$out'"
start=$(date +%s%N)
if "$wasmrpc" call Tests/Fixtures/loop.wat run --timeout 200ms 2>"$work/loop.err"; then
  fail "the looping module should have failed"
fi
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "ran out of time" "$work/loop.err" || fail "expected 'ran out of time', got: $(cat "$work/loop.err")"
echo "looping module stopped after ${elapsed_ms} ms: $(cat "$work/loop.err")"
[ "$elapsed_ms" -lt 3000 ] || fail "the looping module took ${elapsed_ms} ms to stop"
out=$(printf 'b\nns\nop\nhi' | "$wasmrpc" call Guests/echo/echo.wasm forward --echo-host-calls)
[ "$out" = "hi" ] || fail "expected 'hi' from forward --echo-host-calls, got '$out'"
"$wasmrpc" --help >/dev/null

# start_server NAME ARGS...: runs `wasmrpc serve --listen 127.0.0.1:0 --data $work/data ARGS` in the
# background (output in $work/NAME.out/.err), waits until it listens, and exports WASMRPC_SERVER.
start_server() {
  local name=$1; shift
  "$wasmrpc" serve --listen 127.0.0.1:0 --data "$work/data" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "^listening on " "$work/$name.out" && break
    kill -0 "$server_pid" 2>/dev/null || fail "wasmrpc serve exited: $(cat "$work/$name.err")"
    sleep 0.1
  done
  grep -q "^listening on " "$work/$name.out" || fail "wasmrpc serve did not start listening within 10 s"
  export WASMRPC_SERVER=$(awk '/^listening on /{print $3; exit}' "$work/$name.out")
  echo "server at $WASMRPC_SERVER"
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "wasmrpc serve exited with status $? on SIGTERM"
  server_pid=""
}

echo "--- serve"
start_server serve --metrics-listen 127.0.0.1:0 --timeout 60s
metrics=$(sed -n 's/^metrics on //p' "$work/serve.out")
[ -n "$metrics" ] || fail "serve --metrics-listen printed no 'metrics on' line: $(cat "$work/serve.out")"

echo "--- a metrics port another server holds: serve fails, says why, and never said it was listening"
if "$wasmrpc" serve --listen 127.0.0.1:0 --data "$work/data-taken" --metrics-listen "$metrics" \
  >"$work/taken.out" 2>"$work/taken.err" </dev/null; then
  fail "serve started with a metrics port another server holds"
fi
grep -q "Address already in use" "$work/taken.err" || fail "serve with a taken metrics port: $(cat "$work/taken.err")"
if grep -q "^listening on " "$work/taken.out"; then fail "serve said 'listening on', then failed on its metrics port"; fi

echo "--- add, list, describe, invoke, get"
id=$("$wasmrpc" add Guests/complex/complex.wasm --proto Guests/complex/complex.proto)
[ "$id" = "$(sha256sum Guests/complex/complex.wasm | cut -d' ' -f1)" ] || fail "add printed '$id', not the module's SHA-256"
[ "$("$wasmrpc" add Guests/complex/complex.wasm --descriptor-set Guests/complex/complex.pb 2>/dev/null)" = "$id" ] \
  || fail "adding the same module again did not print the same id"
"$wasmrpc" list | grep -q "^$id  complex.Calculator .*/complex.Calculator/mul" || fail "list: $("$wasmrpc" list)"
"$wasmrpc" describe "${id:0:8}" mul | grep -q "rpc mul ( .complex.ComplexRequest ) returns ( .complex.ComplexResponse );" \
  || fail "describe: $("$wasmrpc" describe "$id" mul)"
"$wasmrpc" describe "$id" | grep -q "^  wasmrpc-module-id: $id" || fail "describe did not show how to pin the module: $("$wasmrpc" describe "$id")"
out=$("$wasmrpc" invoke complex.Calculator Calculator/mul --json '{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}')
[ "$out" = '{"result":{"real":-5.0,"imag":10.0}}' ] || fail "invoke --json printed '$out'"
echo '{"a":{"real":2},"b":{"imag":3}}' >"$work/request.json"
out=$("$wasmrpc" invoke "$id" mul --json "@$work/request.json")
[ "$out" = '{"result":{"imag":6.0}}' ] || fail "invoke --json @file printed '$out'"
"$wasmrpc" invoke "$id" mul --random --seed 3 2>"$work/random.err" | grep -q '^{"result":' || fail "invoke --random"
grep -q '^request (--seed 3): {"a":' "$work/random.err" || fail "invoke --random did not print its request: $(cat "$work/random.err")"
"$wasmrpc" get "$id" -o "$work/fetched.wasm" 2>"$work/get.err"
cmp -s "$work/fetched.wasm" Guests/complex/complex.wasm || fail "get -o saved different bytes"
grep -q "leaf 0 of .* verified" "$work/get.err" || fail "get did not report the log verification: $(cat "$work/get.err")"
[ -f "$XDG_CONFIG_HOME/wasmrpc/logs/wasmrpc.local_log.vkey" ] || fail "get did not pin the log key"

echo "--- log"
key=$("$wasmrpc" log key)
[ "$key" = "$("$wasmrpc" log key --data "$work/data")" ] || fail "the server's log key differs from its data directory's"
"$wasmrpc" log checkpoint | head -n 1 | grep -qx "wasmrpc.local/log" || fail "log checkpoint: $("$wasmrpc" log checkpoint)"
"$wasmrpc" log prove "$id" --log-key "$key" --json | grep -q '"leaf_index":0' || fail "log prove --json"
"$wasmrpc" add Guests/echo/echo.wasm --descriptor-set Guests/complex/complex.pb --name second >/dev/null 2>&1
# Tree 1 was remembered by the get above, tree 2 is the newest checkpoint: both roots are vouched for.
"$wasmrpc" log consistency --from 1 --json | grep -q '"first":1,"first_root":"' || fail "log consistency --json"
"$wasmrpc" log consistency --from 1 | grep -q "roots vouched for by signed checkpoints: 1, 2" || fail "log consistency: $("$wasmrpc" log consistency --from 1)"
other=$("$wasmrpc" log key --data "$work/data" | sed 's/+[^+]*+/+00000000+/')
if "$wasmrpc" get "$id" --log-key "$other" -o "$work/refused.wasm" 2>/dev/null; then fail "get accepted a wrong --log-key"; fi
[ ! -e "$work/refused.wasm" ] || fail "get wrote the module although verification failed"
if "$wasmrpc" invoke "$id" mul --json '{"a":1}' 2>"$work/bad.err"; then fail "a malformed request was accepted"; fi
grep -q "not a valid complex.ComplexRequest" "$work/bad.err" || fail "bad request error: $(cat "$work/bad.err")"
if "$wasmrpc" get "$(sha256sum /dev/null | cut -d' ' -f1)" 2>"$work/missing.err"; then fail "an unknown module was found"; fi
grep -q "NOT_FOUND" "$work/missing.err" || fail "unknown module error: $(cat "$work/missing.err")"
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "http://$metrics/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
grep -q "^wasmrpc_invocations_total{module=\"$id\",function=\"complex.Calculator/mul\",code=\"ok\"} [1-9]" "$work/metrics.txt" \
  || fail "/metrics did not count the invocations: $(grep invocations_total "$work/metrics.txt")"

echo "--- chaincode: invoke with a receipt, state, tx, log prove --transaction, state verify"
"$wasmrpc" add Guests/fabcar/fabcar.wasm --descriptor-set Guests/fabcar/fabcar.pb >/dev/null 2>&1 || fail "add fabcar"
"$wasmrpc" invoke fabcar.FabCar InitLedger --json '{}' >/dev/null 2>"$work/init.err" || fail "InitLedger: $(cat "$work/init.err")"
out=$("$wasmrpc" invoke fabcar.FabCar ChangeCarOwner --json '{"key":"CAR4","newOwner":"Ada"}' 2>"$work/change.err")
[ "$out" = '{"key":"CAR4","car":{"make":"Tesla","model":"S","colour":"black","owner":"Ada"}}' ] || fail "ChangeCarOwner printed '$out'"
tx=$(sed -n 's/^transaction \([0-9a-f]\{64\}\): number 2 of module .* (receipt verified)$/\1/p' "$work/change.err")
[ -n "$tx" ] || fail "invoke did not print a verified receipt: $(cat "$work/change.err")"
"$wasmrpc" invoke fabcar.FabCar QueryCar --json '{"key":"CAR4"}' 2>"$work/query.err" | grep -q '"owner":"Ada"' || fail "QueryCar"
[ ! -s "$work/query.err" ] || fail "a query printed a receipt: $(cat "$work/query.err")"
[ "$("$wasmrpc" state fabcar.FabCar | wc -l)" = 10 ] || fail "state listed $("$wasmrpc" state fabcar.FabCar | wc -l) keys, not 10"
"$wasmrpc" state fabcar.FabCar --prefix CAR4 --json | grep -q '"key_text":"CAR4"' || fail "state --prefix --json"
"$wasmrpc" tx "$tx" | grep -q "put CAR4 = " || fail "tx: $("$wasmrpc" tx "$tx")"
"$wasmrpc" log prove --transaction "$tx" --json | grep -q '"leaf' || fail "log prove --transaction"
"$wasmrpc" state verify fabcar.FabCar | grep -q "2 transactions replayed" || fail "state verify: $("$wasmrpc" state verify fabcar.FabCar)"

echo "--- SIGTERM stops the server cleanly"
stop_server

echo "--- a token protects writes"
printf 's3cret\n' >"$work/token"
start_server serve2 --auth-token-file "$work/token"
if "$wasmrpc" add Tests/Fixtures/loop.wat --descriptor-set Guests/complex/complex.pb 2>"$work/auth.err"; then fail "an Add without the token was accepted"; fi
grep -q "UNAUTHENTICATED" "$work/auth.err" || fail "Add without a token: $(cat "$work/auth.err")"
"$wasmrpc" list >/dev/null || fail "reads should stay open"
WASMRPC_AUTH_TOKEN=s3cret "$wasmrpc" add Guests/echo/echo.wasm --descriptor-set Guests/complex/complex.pb >/dev/null 2>&1 \
  || fail "an Add with the token was refused"
if grep -q "s3cret" "$work/serve2.err" "$work/serve2.out"; then fail "the server logged the token"; fi
stop_server

echo "--- mutual TLS: only clients with a certificate from the client CA get in"
tls="$work/tls"; mkdir -p "$tls"
cert() {  # cert NAME CN SAN: a P-256 key and a certificate signed by $tls/ca
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls/$1.key" -subj "/CN=$2" \
    -out "$tls/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$3" >"$tls/$1.ext"
  openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 1 -out "$tls/$1.pem" \
    -extfile "$tls/$1.ext" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" \
  -subj "/CN=wasmrpc smoke CA" -days 1 2>/dev/null
cert server localhost "DNS:localhost,IP:127.0.0.1"
cert client smoke-client "DNS:smoke-client"
start_server serve3 --tls-cert "$tls/server.pem" --tls-key "$tls/server.key" --tls-client-ca "$tls/ca.pem" --http-listen 127.0.0.1:0
grep -q "tls=mutual" "$work/serve3.err" || fail "serve did not report mutual TLS: $(cat "$work/serve3.err")"
# The HTTP listener (the log as tiles) takes the same certificate and client CA.
http=$(awk '/^http on /{print $3; exit}' "$work/serve3.out")
[ -n "$http" ] || fail "serve --http-listen printed no 'http on' line: $(cat "$work/serve3.out")"
curl -sf --cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key" "https://$http/log/checkpoint" >"$work/tiles.checkpoint" \
  || fail "the checkpoint over HTTPS with a client certificate"
head -1 "$work/tiles.checkpoint" | grep -q "wasmrpc.local/log" || fail "the HTTPS checkpoint: $(cat "$work/tiles.checkpoint")"
# The JSON API over the same HTTPS: several calls on one connection (the event-loop path after the first).
mul="https://$http/v1/modules/$id/functions/mul"
tls_client=(--cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key")
body='{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}'
json=(-H "Content-Type: application/json" -d "$body")
curl -sf "${tls_client[@]}" "${json[@]}" "$mul" --next -sf "${tls_client[@]}" "${json[@]}" "$mul" >"$work/json.out" \
  || fail "a JSON call over HTTPS with a client certificate"
[ "$(grep -o '"real":-5.0,"imag":10.0' "$work/json.out" | wc -l)" = 2 ] || fail "the JSON calls over HTTPS: $(cat "$work/json.out")"
if curl -sf --cacert "$tls/ca.pem" "https://$http/log/checkpoint" >/dev/null 2>&1; then fail "an HTTPS client without a certificate got in"; fi
if curl -sf "http://$http/log/checkpoint" >/dev/null 2>&1; then fail "a plaintext HTTP client got in"; fi
"$wasmrpc" list --tls-ca "$tls/ca.pem" --tls-cert "$tls/client.pem" --tls-key "$tls/client.key" | grep -q "^$id " \
  || fail "list over mutual TLS did not show the module"
if "$wasmrpc" list --tls-ca "$tls/ca.pem" >/dev/null 2>"$work/notls.err"; then fail "a client without a certificate got in"; fi
if "$wasmrpc" list >/dev/null 2>&1; then fail "a plaintext client got in"; fi
if "$wasmrpc" list --tls-ca "$tls/ca.pem" --tls-cert "$tls/client.pem" --tls-key "$tls/server.key" 2>"$work/mismatch.err"; then
  fail "a client key that does not match its certificate was used"
fi
grep -q "does not match" "$work/mismatch.err" || fail "mismatched client key: $(cat "$work/mismatch.err")"
stop_server
if "$wasmrpc" serve --listen 127.0.0.1:0 --data "$work/data" --tls-cert "$tls/server.pem" --tls-key "$tls/client.key" 2>"$work/badtls.err"; then
  fail "serve started with a key that does not match its certificate"
fi
grep -q "does not match" "$work/badtls.err" || fail "serve with a mismatched key: $(cat "$work/badtls.err")"

echo "--- log verify and state verify audit the data directory offline"
"$wasmrpc" log verify --data "$work/data" || fail "log verify found problems in an untouched data directory"
"$wasmrpc" state verify fabcar.FabCar --data "$work/data" | grep -q "2 transactions replayed" || fail "state verify --data"
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE state SET value = X\x2700\x27 WHERE key = CAST(\x27CAR1\x27 AS BLOB)"); c.commit()' \
  "$work/data/wasmrpc.sqlite"
if "$wasmrpc" state verify fabcar.FabCar --data "$work/data" >"$work/state.out"; then fail "state verify missed an edited state row"; fi
grep -q "has another value" "$work/state.out" || fail "state verify: $(cat "$work/state.out")"
blob="$work/data/blobs/sha256/${id:0:2}/$id"
chmod u+w "$blob" && printf 'x' >>"$blob"
if "$wasmrpc" log verify --data "$work/data" 2>"$work/verify.err"; then fail "log verify missed an edited blob"; fi
grep -q "problem: module $id" "$work/verify.err" || fail "log verify: $(cat "$work/verify.err")"

echo "--- bench: its own server and the baseline, a few calls per target (the figures mean nothing here)"
"$wasmrpc" bench --requests 20 --warmup 10ms --concurrency 1,2 --cold-starts 2 >"$work/bench.out" 2>"$work/bench.err" \
  || fail "bench failed: $(cat "$work/bench.err")"
for target in baseline invoke native; do
  [ "$(grep -c "^$target " "$work/bench.out")" = 2 ] || fail "bench did not measure $target twice: $(cat "$work/bench.out")"
done
grep -q "^cold start .* 2 modules: p50 " "$work/bench.out" || fail "bench did not time its cold starts: $(cat "$work/bench.out")"

echo "--- bench --target gload: the floor, native and invoke measured by gload, a separate grpc-go process (needs \$GLOAD)"
if [ -z "${GLOAD:-}" ]; then fail "GLOAD is not set: build gload (sh ../shared/tools/gload/build.sh) and export GLOAD"; fi
"$wasmrpc" bench --target gload --duration 400ms --rounds 2 --warmup 50ms --concurrency 1,4 --cold-starts 0 --json \
  >"$work/gload.json" 2>"$work/gload.err" || fail "bench --target gload failed: $(cat "$work/gload.err")"
python3 - "$work/gload.json" <<'PY' || fail "bench --target gload: $(cat "$work/gload.json")"
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
for target in ["floor", "gload native", "gload invoke"]:
    mine = [cell for cell in cells if cell["target"] == target]
    assert sorted(cell["concurrency"] for cell in mine) == [1, 4], f"{target} was not measured at 1 and 4 in flight"
    assert all(cell["calls"] > 0 and cell["errors"] == 0 for cell in mine), f"{target} made no calls or saw errors"
    assert target == "floor" or all(cell["calls_per_second_ratio"] > 0 for cell in mine), f"{target} has no ratio to the floor"
PY
echo "cli smoke tests passed"
