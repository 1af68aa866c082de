#!/usr/bin/env bash
# Runs the benchmarks in release mode. Usage: Benchmarks/run.sh [extra `benchmark` plugin args]
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .build/fixtures
wat2wasm ../Tests/Fixtures/wapc-abi.wat -o .build/fixtures/wapc-abi.wasm
swift package --disable-sandbox benchmark "$@"
