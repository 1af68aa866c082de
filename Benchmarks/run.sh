#!/usr/bin/env bash
# Runs the benchmarks in release mode. Usage: Benchmarks/run.sh [extra `benchmark` plugin args]
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .build/fixtures
# SwiftPM keeps its build plan for the main package (a path dependency here) when files are added
# to or removed from it, and then fails on the names that moved ("cannot find 'ServerLifecycle' in
# scope"). Without the plan it makes a new one, at the price of a ~2 min rebuild: so only when the
# main package's file list changed since the last run.
sources=$(cd .. && find Sources -type f | sort)
if [ "$sources" != "$(cat .build/main-sources.txt 2>/dev/null)" ]; then
  rm -f .build/release.yaml
  printf '%s\n' "$sources" >.build/main-sources.txt
fi
wat2wasm ../Tests/Fixtures/wapc-abi.wat -o .build/fixtures/wapc-abi.wasm
swift package --disable-sandbox benchmark "$@"
