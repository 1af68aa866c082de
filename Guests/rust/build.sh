#!/usr/bin/env bash
# Builds the Rust guests (complex, fabcar, bank; the waPC + state crate wapc-state) into
# Guests/rust/<name>/<name>.wasm with Debian's rustc and vendored crates, offline. The .wasm files
# are committed; `Guests/rust/build.sh --check` rebuilds them in a temporary folder and fails if
# they differ from the committed ones (CI runs it).
#
# Needs (../../../shared/RECIPES.md §7):
#   apt-get install rustc cargo libstd-rust-dev-wasm32 lld-14 librust-prost-dev
# rustc and cargo are called at /usr/bin: a rustup toolchain earlier on PATH has no wasm32 std.
set -euo pipefail
cd "$(dirname "$0")"
for tool in /usr/bin/rustc /usr/bin/cargo /usr/bin/wasm-ld-14; do
  [ -x "$tool" ] || { echo "error: $tool not found; install it with: apt-get install rustc cargo libstd-rust-dev-wasm32 lld-14 librust-prost-dev" >&2; exit 1; }
done
[ -d /usr/share/cargo/registry/prost-0.11.6 ] || { echo "error: Debian's prost crate is missing; apt-get install librust-prost-dev" >&2; exit 1; }
GUESTS=(complex fabcar bank)

check=false
[ "${1:-}" = "--check" ] && check=true
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT

# Paths of the sources are remapped so the bytes do not depend on where the checkout is.
RUSTFLAGS="--remap-path-prefix=$PWD=/guests --remap-path-prefix=$HOME=/home" RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$target" \
  /usr/bin/cargo build --quiet --release --target wasm32-unknown-unknown --offline

for guest in "${GUESTS[@]}"; do
  built="$target/wasm32-unknown-unknown/release/$guest.wasm"
  if $check; then
    if ! cmp -s "$built" "$guest/$guest.wasm"; then
      echo "error: Guests/rust/$guest/$guest.wasm is not what its sources build; run Guests/rust/build.sh and commit" >&2
      exit 1
    fi
  else
    cp "$built" "$guest/$guest.wasm"
    echo "built Guests/rust/$guest/$guest.wasm ($(wc -c < "$guest/$guest.wasm") bytes)"
  fi
done
$check && echo "Rust guest .wasm files are up to date"
exit 0
