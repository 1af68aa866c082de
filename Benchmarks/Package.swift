// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so that normal builds and tests don't pay for them.
// Run: cd Benchmarks && swift package --disable-sandbox benchmark
let package = Package(
    name: "WasmRPCBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swiftwasm/WasmKit", from: "0.4.2"),
    ],
    targets: [
        .executableTarget(
            name: "WapcHostBenchmarks",
            dependencies: [
                .product(name: "WapcHost", package: "main"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WapcHostBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "DynamicProtoBenchmarks",
            dependencies: [
                .product(name: "DynamicProto", package: "main"),
                .product(name: "GeneratedTestProtos", package: "main"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DynamicProtoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                .product(name: "TransparencyLog", package: "main"),
                .product(name: "ContentStore", package: "main"),
                .product(name: "SQLiteEngine", package: "main"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "WapcProfile",
            dependencies: [.product(name: "WapcHost", package: "main")]
        ),
        .executableTarget(
            name: "NeighbourBenchmark",
            dependencies: [
                .product(name: "Server", package: "main"),
                .product(name: "Client", package: "main"),
                .product(name: "ContentStore", package: "main"),
                .product(name: "WasmRPCCore", package: "main"),
                .product(name: "GeneratedTestProtos", package: "main"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WAT", package: "WasmKit"),
            ]
        ),
        .executableTarget(
            name: "LogBenchmark",
            dependencies: [
                .product(name: "TransparencyLog", package: "main"),
                .product(name: "ContentStore", package: "main"),
                .product(name: "SQLiteEngine", package: "main"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
