#!/usr/bin/env bash
# Regenerates the committed protobuf artifacts with Debian's protoc and protoc-gen-swift built from
# the mirrored swift-protobuf (no SwiftPM build plugin):
#   Tests/GeneratedTestProtos/*.pb.swift     generated types (dyn/*.proto, complex.proto) that tests and
#                                            benchmarks check DynamicProto against
#   Tests/DynamicProtoTests/Protos/test.pb   their FileDescriptorSet (--include_imports)
#   Sources/WasmRPCProto/*.swift             messages and gRPC stubs of proto/wasmrpc/v1 (the wire API)
#                                            and proto/grpc/health/v1 (the standard health service)
#   Guests/complex/complex.pb                the complex example's FileDescriptorSet (the demo adds it)
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

protos=(dyn/common.proto dyn/test2.proto dyn/test3.proto complex.proto)
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" -I Tests/DynamicProtoTests/Protos -I Guests/complex \
  --swift_out="$out/Generated" --swift_opt=FileNaming=PathToUnderscores,Visibility=Public \
  --include_imports --descriptor_set_out="$out/test.pb" "${protos[@]}"

compare() { # generated committed
  if $check; then
    cmp -s "$1" "$2" || { echo "error: $2 is stale; run scripts/generate-protos.sh and commit" >&2; exit 1; }
  else
    mkdir -p "$(dirname "$2")" && cp "$1" "$2"
  fi
}
for file in "$out"/Generated/*.swift; do
  compare "$file" "Tests/GeneratedTestProtos/$(basename "$file")"
done
compare "$out/test.pb" Tests/DynamicProtoTests/Protos/test.pb

protoc -I Guests/complex --include_imports --descriptor_set_out="$out/complex.pb" complex.proto
compare "$out/complex.pb" Guests/complex/complex.pb

mkdir -p "$out/WasmRPCProto"
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  -I proto --swift_out="$out/WasmRPCProto" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$out/WasmRPCProto" --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores \
  wasmrpc/v1/wasmrpc.proto grpc/health/v1/health.proto
for file in "$out"/WasmRPCProto/*.swift; do
  compare "$file" "Sources/WasmRPCProto/$(basename "$file")"
done
if $check; then
  extra=$(comm -13 <(ls "$out/Generated") <(ls Tests/GeneratedTestProtos))
  [ -z "$extra" ] || { echo "error: Tests/GeneratedTestProtos has files protoc no longer makes: $extra" >&2; exit 1; }
  extra=$(comm -13 <(ls "$out/WasmRPCProto") <(ls Sources/WasmRPCProto))
  [ -z "$extra" ] || { echo "error: Sources/WasmRPCProto has files protoc no longer makes: $extra" >&2; exit 1; }
  echo "generated protobuf code is up to date"
else
  echo "generated: Tests/GeneratedTestProtos/, Tests/DynamicProtoTests/Protos/test.pb, Sources/WasmRPCProto/, Guests/complex/complex.pb"
fi
