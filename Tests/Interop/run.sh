#!/usr/bin/env bash
# Runs the Python interop tests against the wasmrpc binary (default .build/debug/wasmrpc; set
# WASMRPC_BIN to use another). Creates the venv .venv/ on first use. Fails unless every test passes
# and at least MIN_TESTS ran (so a collection problem cannot pass silently).
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN_TESTS=81
[ -x .venv/bin/python ] || python3 -m venv .venv
# (Re)install when a module is missing, e.g. in a venv made before a package joined the list.
if ! .venv/bin/python -c "import grpc, grpc_tools, grpc_health.v1.health_pb2, grpc_reflection.v1alpha.reflection_pb2, pytest, tlog_scales, rekor_verifier, cryptography, h2, selenium, schemathesis" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check grpcio grpcio-tools grpcio-health-checking grpcio-reflection pytest tlog-scales cryptography h2 selenium schemathesis
  # rekor-verifier pins versions that clash with grpcio-tools; its merkle_proof module needs none of them.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps rekor-verifier
fi
report=$(mktemp)
pg_dir=""
cleanup() {
  rm -f "$report"
  if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" || true; rm -rf "$pg_dir"; fi
}
trap cleanup EXIT
# The replica tests need PostgreSQL: a throwaway cluster unless WASMRPC_TEST_POSTGRES names one.
if [ -z "${WASMRPC_TEST_POSTGRES:-}" ]; then
  pg_dir=$(mktemp -d /tmp/wasmrpc-interop-pg.XXXXXX)
  WASMRPC_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir")
  export WASMRPC_TEST_POSTGRES
fi
.venv/bin/python -m pytest -q -p no:cacheprovider Tests/Interop --junitxml="$report" "$@"
.venv/bin/python - "$report" "$MIN_TESTS" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
ran, skipped = int(suite.get("tests")), int(suite.get("skipped"))
bad = int(suite.get("failures")) + int(suite.get("errors"))
print(f"interop tests: {ran} ran, {bad} failed or errored, {skipped} skipped")
if bad or skipped or ran < int(sys.argv[2]):
    sys.exit(f"error: expected at least {sys.argv[2]} passing interop tests and none skipped")
PY
