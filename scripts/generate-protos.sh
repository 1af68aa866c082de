#!/usr/bin/env bash
# Regenerates the committed protobuf artifacts with Debian's protoc and protoc-gen-swift built from
# the mirrored swift-protobuf (no SwiftPM build plugin):
#   Tests/DynamicProtoTests/Generated/*.pb.swift   generated types the dynamic codec is checked against
#   Tests/DynamicProtoTests/Protos/test.pb         their FileDescriptorSet (--include_imports)
#   Benchmarks/Benchmarks/DynamicProtoBenchmarks/   the same plus complex.proto, for dynamic-vs-generated benchmarks
# `--check` generates into a temporary folder and fails if anything committed differs (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "error: protoc not found; install it with: apt-get install protobuf-compiler" >&2; exit 1; }
check=false
[ "${1:-}" = "--check" ] && check=true

bin=$(scripts/build-protoc-plugins.sh | tail -n 1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/Generated"

protos=(dyn/common.proto dyn/test2.proto dyn/test3.proto)
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" -I Tests/DynamicProtoTests/Protos \
  --swift_out="$out/Generated" --swift_opt=FileNaming=PathToUnderscores,Visibility=Internal \
  --include_imports --descriptor_set_out="$out/test.pb" "${protos[@]}"

compare() { # generated committed
  if $check; then
    cmp -s "$1" "$2" || { echo "error: $2 is stale; run scripts/generate-protos.sh and commit" >&2; exit 1; }
  else
    mkdir -p "$(dirname "$2")" && cp "$1" "$2"
  fi
}
for file in "$out"/Generated/*.swift; do
  compare "$file" "Tests/DynamicProtoTests/Generated/$(basename "$file")"
done
compare "$out/test.pb" Tests/DynamicProtoTests/Protos/test.pb

bench=Benchmarks/Benchmarks/DynamicProtoBenchmarks
mkdir -p "$out/Bench"
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" -I Tests/DynamicProtoTests/Protos -I Guests/complex \
  --swift_out="$out/Bench" --swift_opt=FileNaming=PathToUnderscores,Visibility=Internal \
  --include_imports --descriptor_set_out="$out/bench.pb" "${protos[@]}" complex.proto
for file in "$out"/Bench/*.swift; do
  compare "$file" "$bench/Generated/$(basename "$file")"
done
compare "$out/bench.pb" "$bench/Resources/bench.pb"
if $check; then
  extra=$(comm -13 <(ls "$out/Generated") <(ls Tests/DynamicProtoTests/Generated))
  [ -z "$extra" ] || { echo "error: Tests/DynamicProtoTests/Generated has files protoc no longer makes: $extra" >&2; exit 1; }
  echo "generated protobuf code is up to date"
else
  echo "generated: Tests/DynamicProtoTests/Generated/, Tests/DynamicProtoTests/Protos/test.pb, $bench/"
fi
