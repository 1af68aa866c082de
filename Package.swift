// swift-tools-version:6.1
import PackageDescription

// Layering (lower targets never import higher ones) is described in docs/ARCHITECTURE.md.
let package = Package(
    name: "WasmRPC",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "wasmrpc", targets: ["WasmRPCCLI"]),
        .library(name: "WasmRPCCore", targets: ["WasmRPCCore"]),
        .library(name: "WapcHost", targets: ["WapcHost"]),
        .library(name: "DynamicProto", targets: ["DynamicProto"]),
        .library(name: "TransparencyLog", targets: ["TransparencyLog"]),
        // The server and client, for Benchmarks/ (the CLI is their user here).
        .library(name: "Server", targets: ["Server"]),
        .library(name: "CallCore", targets: ["CallCore"]),
        .library(name: "WasmRPCBench", targets: ["WasmRPCBench"]),
        .library(name: "Client", targets: ["Client"]),
        .library(name: "ContentStore", targets: ["ContentStore"]),
        .library(name: "SQLiteEngine", targets: ["SQLiteEngine"]),
        // swift-protobuf code generated from the test .proto files, for tests and Benchmarks/.
        .library(name: "GeneratedTestProtos", targets: ["GeneratedTestProtos"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftwasm/WasmKit", from: "0.4.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // The project's own vocabulary: module ids, method paths, hex, wire names.
        .target(
            name: "WasmRPCCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "WapcHost",
            dependencies: [
                "WasmRPCCore",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DynamicProto",
            dependencies: ["WasmRPCCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "WasmRPCProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "WasmRPCGRPC",
            dependencies: [
                "WasmRPCProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        .target(
            name: "TransparencyLog",
            dependencies: ["WasmRPCCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "ContentStore",
            dependencies: [
                "WasmRPCCore", "TransparencyLog", "WasmRPCProto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The embedded engine: a data directory with blob files and SQLite (GRDB).
        .target(
            name: "SQLiteEngine",
            dependencies: [
                "ContentStore", "WasmRPCCore", "TransparencyLog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            resources: [
                .embedInCode("Schema/modules.sql"), .embedInCode("Schema/transparency_log.sql"),
                .embedInCode("Schema/module_leaf_index.sql"), .embedInCode("Schema/module_signatures.sql"),
                .embedInCode("Schema/world_state.sql"), .embedInCode("Schema/exactly_once.sql"),
            ]
        ),
        // The shared engine: one PostgreSQL database for any number of servers (postgres-nio).
        .target(
            name: "PostgresEngine",
            dependencies: [
                "ContentStore", "WasmRPCCore", "TransparencyLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Schema/initial.sql"), .embedInCode("Schema/exactly_once.sql")]
        ),
        .target(
            name: "ModuleRuntime",
            dependencies: [
                "WasmRPCCore", "WapcHost", "DynamicProto", "ContentStore", "TransparencyLog", "WasmRPCProto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One C call (mallopt) for the executable: large freed blocks go back to the system.
        .target(name: "CMemoryTuning"),
        .target(
            name: "TLSFiles",
            dependencies: [.product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        // The one call pipeline under every front door: access, request ids, provider choice,
        // deadlines, inline or worker, metrics, the call log, statuses; no wire protocol.
        .target(
            name: "CallCore",
            dependencies: [
                "WasmRPCCore", "ModuleRuntime", "ContentStore", "TransparencyLog", "WasmRPCProto", "DynamicProto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Bounds on a listener's connections, for both doors: count, handshake, head, idle time.
        .target(
            name: "ListenerLimits",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // The gRPC front door: the built-in services, native routes, the HTTP/2 transport.
        .target(
            name: "GRPCFrontDoor",
            dependencies: [
                "CallCore", "ListenerLimits", "WasmRPCGRPC",
                "WasmRPCCore", "ModuleRuntime", "WasmRPCProto", "ContentStore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The HTTP front door: the JSON API, the explorer page and the log's tiles (Hummingbird).
        .target(
            name: "HTTPFrontDoor",
            dependencies: [
                "CallCore", "ListenerLimits",
                "WasmRPCCore", "ModuleRuntime", "WasmRPCProto", "ContentStore", "DynamicProto", "TransparencyLog",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            // The page and API document, compiled into the binary (`WebAssets`).
            resources: [
                .embedInCode("Web/index.html"), .embedInCode("Web/explorer.js"), .embedInCode("Web/explorer.css"),
                .embedInCode("Web/openapi.yaml"),
            ]
        ),
        // The composition root: a store, a runtime, the core and its doors, metrics.
        .target(
            name: "Server",
            dependencies: [
                "CallCore", "GRPCFrontDoor", "HTTPFrontDoor", "ListenerLimits", "SQLiteEngine", "PostgresEngine",
                "WasmRPCCore", "ModuleRuntime", "WasmRPCProto", "TLSFiles", "ContentStore", "WapcHost",
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "Client",
            dependencies: [
                "WasmRPCGRPC",
                "WasmRPCCore", "WasmRPCProto", "DynamicProto", "TransparencyLog", "TLSFiles",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // `wasmrpc bench`'s load generator and the bare gRPC echo server it measures against.
        .target(
            name: "WasmRPCBench",
            dependencies: [
                "GRPCFrontDoor",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(
            name: "WasmRPCCommands",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "CallCore", "ListenerLimits", "SQLiteEngine",
                "PostgresEngine",
                "WasmRPCCore", "WapcHost", "Server", "Client", "DynamicProto", "ContentStore", "TransparencyLog", "WasmRPCProto", "WasmRPCBench",
                "ModuleRuntime",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "WasmRPCCLI",
            dependencies: ["WasmRPCCommands", "CMemoryTuning"]
        ),
        .testTarget(
            name: "WapcHostTests",
            dependencies: [
                "WapcHost", "TestSupport",
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GeneratedTestProtos",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/GeneratedTestProtos"
        ),
        .testTarget(
            name: "DynamicProtoTests",
            dependencies: ["DynamicProto", "GeneratedTestProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        .testTarget(
            name: "WasmRPCProtoTests",
            dependencies: [
                "WasmRPCGRPC","WasmRPCProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "TransparencyLogTests",
            dependencies: ["TransparencyLog", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "ContentStoreTests",
            dependencies: [
                "SQLiteEngine",
                "PostgresEngine",
                "ContentStore", "TransparencyLog", "WasmRPCCore", "WasmRPCProto", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by the test targets (fixtures, descriptors, servers on loopback, waiting).
        .target(
            name: "TestSupport",
            dependencies: [
                "Server", "CallCore", "Client", "WasmRPCCore", "WasmRPCProto", "GeneratedTestProtos", "WapcHost",
                "ModuleRuntime", "ContentStore", "TransparencyLog",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WAT", package: "WasmKit"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "ModuleRuntimeTests",
            dependencies: [
                "SQLiteEngine",
                "ModuleRuntime", "TestSupport", "ContentStore", "DynamicProto", "WapcHost", "WasmRPCCore", "GeneratedTestProtos",
                "TransparencyLog", "WasmRPCProto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WAT", package: "WasmKit"),
            ]
        ),
        // The call pipeline, without sockets.
        .testTarget(
            name: "CallCoreTests",
            dependencies: [
                "CallCore", "ModuleRuntime", "TestSupport", "WasmRPCCore", "WasmRPCProto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "ClientTests",
            dependencies: [
                "WasmRPCGRPC", "Server",
                "Client", "TestSupport", "TransparencyLog", "WasmRPCCore", "WasmRPCProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                "CallCore", "GRPCFrontDoor", "HTTPFrontDoor", "ListenerLimits", "SQLiteEngine",
                "WasmRPCGRPC",
                "Server", "Client", "ModuleRuntime", "ContentStore", "DynamicProto", "WasmRPCProto", "GeneratedTestProtos", "WapcHost", "WasmRPCCore", "WasmRPCBench",
                "TestSupport",
                "TransparencyLog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WAT", package: "WasmKit"),
                // Test certificates are made at run time (nothing committed that could expire).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WasmRPCCommandsTests",
            dependencies: ["WasmRPCCommands", "Client", "Server", "CallCore", .product(name: "GRPCCore", package: "grpc-swift-2")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
