#!/usr/bin/env bash
# Builds the committed C fixtures (Tests/Fixtures/**/*.c → .wasm next to the source) with the Swift
# toolchain's clang, Debian's wasi-libc and its wasm32 compiler-rt builtins
# (`apt-get install wasi-libc libclang-rt-14-dev-wasm32`). `--check` rebuilds into a
# temporary folder and fails if a committed .wasm differs from what its source builds (CI runs it).
# WAT fixtures need no build step: the tests assemble them with WasmKit's WAT parser.
set -euo pipefail
cd "$(dirname "$0")"
check=false
[ "${1:-}" = "--check" ] && check=true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

BUILTINS=/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a
build() { # source output
  clang --target=wasm32-wasi -nostdlib -isystem /usr/include/wasm32-wasi -Oz -c -o "$tmp/obj.o" "$1"
  wasm-ld --no-entry --strip-all --export=_initialize /usr/lib/wasm32-wasi/crt1-reactor.o "$tmp/obj.o" \
    /usr/lib/wasm32-wasi/libc.a "$BUILTINS" -o "$2"
}

for source in wasi/wasi-guest.c; do
  wasm=${source%.c}.wasm
  build "$source" "$tmp/out.wasm"
  if $check; then
    cmp -s "$tmp/out.wasm" "$wasm" || { echo "error: Tests/Fixtures/$wasm is stale; run Tests/Fixtures/build.sh and commit" >&2; exit 1; }
  else
    cp "$tmp/out.wasm" "$wasm"
    echo "built Tests/Fixtures/$wasm ($(wc -c < "$wasm") bytes)"
  fi
done
$check && echo "C fixtures are up to date"
exit 0
