#!/usr/bin/env bash
# Builds the Swift guest SDK (WapcGuest) and the example guests into Guests/<name>/<name>.wasm with
# Embedded Swift. The .wasm files are committed; `Guests/build.sh --check` rebuilds them into a
# temporary folder and fails if they differ from the committed ones (CI runs it).
#
# Needs: swiftc with Embedded Swift for wasm32-unknown-none-wasm, wasm-ld (both in the Swift
# toolchain), and Debian's wasi-libc (`apt-get install wasi-libc`) for memcpy/memset; the heap is
# WapcGuest's own allocator (Guests/WapcGuest/Allocator.swift).
set -euo pipefail
cd "$(dirname "$0")"

LIBC=${WASI_LIBC:-/usr/lib/wasm32-wasi/libc.a}
[ -f "$LIBC" ] || { echo "error: $LIBC not found; install it with: apt-get install wasi-libc" >&2; exit 1; }
GUESTS=(echo complex counter fabcar)

check=false
[ "${1:-}" = "--check" ] && check=true
out=.build/wasm
rm -rf "$out" && mkdir -p "$out/mc"

# Two steps (compile to objects, then wasm-ld) with fixed relative paths give identical bytes on
# every run; a one-step swiftc build embeds a hash of a temporary object path.
# -O rather than -Osize: ≈ 10 % more bytes, and a complex mul costs the server ≈ 2.5 µs less of its
# ≈ 40 µs (the interpreter runs fewer instructions; BENCHMARKS.md).
SWIFTC=(swiftc -target wasm32-unknown-none-wasm
  -enable-experimental-feature Embedded -enable-experimental-feature Extern -enable-builtin-module
  -wmo -O -parse-as-library -Xfrontend -disable-stack-protector
  -module-cache-path "$out/mc")

"${SWIFTC[@]}" -module-name WapcGuest -emit-module -emit-module-path "$out/WapcGuest.swiftmodule" \
  -c WapcGuest/*.swift -o "$out/WapcGuest.o"

for guest in "${GUESTS[@]}"; do
  "${SWIFTC[@]}" -module-name "$guest" -I "$out" -c "$guest"/*.swift -o "$out/$guest.o"
  wasm-ld --no-entry --strip-all --gc-sections --wrap=posix_memalign --wrap=free \
    -z stack-size=65536 \
    "$out/$guest.o" "$out/WapcGuest.o" "$LIBC" -o "$out/$guest.wasm"
  if $check; then
    if ! cmp -s "$out/$guest.wasm" "$guest/$guest.wasm"; then
      echo "error: Guests/$guest/$guest.wasm is not what its sources build; run Guests/build.sh and commit" >&2
      exit 1
    fi
  else
    cp "$out/$guest.wasm" "$guest/$guest.wasm"
    echo "built Guests/$guest/$guest.wasm ($(wc -c < "$guest/$guest.wasm") bytes)"
  fi
done
$check && echo "guest .wasm files are up to date"
exit 0
