#!/usr/bin/env bash
# Transactions on one hot key through replicas on PostgreSQL, with clients outside the servers
# (gload, grpc-go): the counter guest's Add on one key, CLIENTS (8) in flight on each server for
# DURATION (5) seconds, ROUNDS (3) times each of
#   one   - one server;
#   two   - two servers, one key (their pipelines conflict);
#   apart - two servers, a key of its own per server (nothing to conflict on).
# Prints per server: answered calls, errors, p50 and p99 (ms); and checks that the counter equals
# the calls answered OK (every ABORTED call left no trace).
#   scripts/bench-hot-key.sh [WASMRPC_BINARY]   (default .build/release/wasmrpc; needs $GLOAD, psql, and
#   a PostgreSQL server in $WASMRPC_TEST_POSTGRES, else a throwaway one from scripts/postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/wasmrpc}
rounds=${ROUNDS:-3}; seconds=${DURATION:-5}; clients=${CLIENTS:-8}
: "${GLOAD:?set GLOAD to the gload binary (sh ../shared/tools/gload/build.sh)}"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$work/pg/url" ] && scripts/postgres.sh stop "$work/pg" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
postgres=${WASMRPC_TEST_POSTGRES:-}
[ -n "$postgres" ] || postgres=$(scripts/postgres.sh start "$work/pg")

# body: counter.AddRequest{name, by: 1}
request() { python3 -c "import sys; n=sys.argv[1].encode(); print((bytes([10, len(n)]) + n + bytes([16, 1])).hex())" "$1"; }

# serve NAME [--log-key-file F]: a server on DATABASE, its address in $work/NAME.address
serve() {
  local name=$1; shift
  mkdir -p "$work/$name"
  "$bin" serve --listen 127.0.0.1:0 --data "$work/$name" --database "$database" --log-level error "$@" >"$work/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do grep -q "^listening on " "$work/$name.out" && break; sleep 0.1; done
  awk '/^listening on /{print $3}' "$work/$name.out" >"$work/$name.address"
}

# run MODE: one round
run() {
  local mode=$1
  local name=hotkey_$RANDOM$RANDOM
  psql "$postgres" -qc "CREATE DATABASE $name"
  database="$(dirname "${postgres%%\?*}")/$name?sslmode=disable"
  pids=()
  serve a
  [ "$mode" = one ] || serve b --log-key-file "$work/a/log.key"
  local a; a=$(cat "$work/a.address")
  local id; id=$("$bin" add Guests/counter/counter.wasm --descriptor-set Guests/counter/counter.pb --server "$a" 2>/dev/null | awk '{print $1; exit}')
  request hot >"$work/hot.hex"; request a >"$work/a.hex"; request b >"$work/b.hex"
  local servers=(a); [ "$mode" = one ] || servers=(a b)
  local loads=()
  for server in "${servers[@]}"; do
    local key=hot; [ "$mode" = apart ] && key=$server
    "$GLOAD" -addr "$(cat "$work/$server.address")" -method /counter.Counter/Add -body "$work/$key.hex" -c "$clients" -d "${seconds}s" \
      -md "wasmrpc-module-id=$id" >"$work/$server.json" 2>/dev/null &
    loads+=($!)
  done
  wait "${loads[@]}"
  python3 - "$mode" "$work" "$bin" "$a" "$id" "${servers[@]}" <<'PY'
import json, subprocess, sys
mode, work, binary, address, module, servers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
results = {server: json.load(open(f"{work}/{server}.json")) for server in servers}
ok = sum(result["requests"] for result in results.values())
names = ["hot"] if mode != "apart" else servers
counted = 0
for name in names:
    answer = subprocess.run([binary, "invoke", module, "Get", "--json", json.dumps({"name": name}), "--server", address],
                            capture_output=True, text=True, check=True).stdout
    counted += int(json.loads(answer).get("value", "0"))
line = " | ".join(f"{server}: {r['requests']} ok, {r['errors']} errors, p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms"
                  for server, r in results.items())
seconds = max(r["seconds"] for r in results.values())
print(f"{mode:5}  {ok / seconds:6.0f} tx/s  {line}  counter {'=' if counted == ok else '!='} ok ({counted})")
if counted != ok:
    sys.exit("the counter does not count exactly the calls answered OK")
PY
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}

echo "counter Add, ${clients} clients in flight per server, ${seconds} s per round, ${rounds} rounds ($bin)"
for round in $(seq "$rounds"); do
  for mode in one two apart; do run "$mode"; done
done
