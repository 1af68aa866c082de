#!/usr/bin/env bash
# Builds protoc-gen-swift and protoc-gen-grpc-swift-2 from the mirrored packages into
# .build-protoc-plugins/, without SwiftPM's protobuf build plugin.
# Prints the bin directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.build-protoc-plugins
mkdir -p "$dir"
cat > "$dir/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: []
)
SWIFT
swift build --package-path "$dir" -c release --product protoc-gen-swift >&2
swift build --package-path "$dir" -c release --product protoc-gen-grpc-swift-2 >&2
echo "$(cd "$dir" && pwd)/.build/release"
