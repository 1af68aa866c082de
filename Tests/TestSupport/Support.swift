import Client
import Foundation
import GeneratedTestProtos
import GRPCInProcessTransport
import Logging
import Server
import SwiftProtobuf
import Synchronization
import WAT
import WapcHost
import WasmRPCCore
import WasmRPCProto

// Helpers shared by the test targets: fixtures, descriptors built in code, servers on loopback,
// and waiting without depending on the machine's speed.

public let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

public func fixture(_ relative: String) throws -> [UInt8] {
    let url = repository.appendingPathComponent(relative)
    let bytes = try Array(Data(contentsOf: url))
    return relative.hasSuffix(".wat") ? try wat2wasm(String(decoding: bytes, as: UTF8.self)) : bytes
}

public let complexWasm = try! fixture("Guests/complex/complex.wasm")
public let complexDescriptor = try! Google_Protobuf_FileDescriptorSet(serializedBytes: fixture("Guests/complex/complex.pb"))
public let echoWasm = try! fixture("Guests/echo/echo.wasm")

public func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-server-test-\(UUID().uuidString)").path
}

/// How a test reaches its server.
public enum TestTransport: Sendable, CaseIterable {
    /// grpc-swift's in-process transport: no socket, no port (what most tests use).
    case inProcess
    /// HTTP/2 on a free loopback port (TLS, transport limits, ports, other processes).
    case network
}

/// Starts a server with data in `directory`, runs `body` with a client (carrying `token`), and
/// stops the server (also when `body` throws). The server takes calls in process unless
/// `transport` is `.network` or either side has TLS (then on a free loopback port, the client
/// speaking `tls`).
public func withServer<T: Sendable>(
    directory: String? = nil, configure: (inout WasmRPCServer.Configuration) -> Void = { _ in },
    token: String? = nil, tls: ClientTLS? = nil, transport: TestTransport = .inProcess, _ body: (WasmRPCClient) async throws -> T
) async throws -> T {
    try await withRunningServer(directory: directory, configure: configure, token: token, tls: tls, transport: transport) { client, _ in
        try await body(client)
    }
}

/// `withServer`, with the server too (its runtime, ports, `shutdown()`); returns once `run()` has.
public func withRunningServer<T: Sendable>(
    directory: String? = nil, configure: (inout WasmRPCServer.Configuration) -> Void = { _ in },
    token: String? = nil, tls: ClientTLS? = nil, transport: TestTransport = .inProcess,
    _ body: (WasmRPCClient, WasmRPCServer) async throws -> T
) async throws -> T {
    let data = directory ?? temporaryDirectory()
    defer { if directory == nil { try? FileManager.default.removeItem(atPath: data) } }
    var configuration = WasmRPCServer.Configuration(dataDirectory: data)
    configuration.port = 0
    configure(&configuration)
    let inProcess = transport == .inProcess && tls == nil && configuration.tls == nil ? InProcessTransport() : nil
    if let inProcess { configuration.listener = .inProcess(inProcess.server) }
    let server = try await WasmRPCServer(configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { server.shutdown() }
        let result: T
        if let inProcess {
            result = try await WasmRPCClient.withClient(inProcess: inProcess.client, token: token) { try await body($0, server) }
        } else {
            let port = try await server.listeningPort()
            result = try await WasmRPCClient.withClient(to: ServerAddress(host: "127.0.0.1", port: port), token: token, tls: tls) {
                try await body($0, server)
            }
        }
        server.shutdown()
        try await group.waitForAll()
        return result
    }
}

/// `complex.ComplexRequest` bytes, encoded with swift-protobuf's generated types as an independent
/// oracle.
public func complexRequest(_ a: (Float, Float), _ b: (Float, Float)) throws -> Google_Protobuf_Any {
    let request = Complex_ComplexRequest.with {
        $0.a = .with { $0.real = a.0; $0.imag = a.1 }
        $0.b = .with { $0.real = b.0; $0.imag = b.1 }
    }
    return try Google_Protobuf_Any.with {
        $0.typeURL = "type.googleapis.com/complex.ComplexRequest"
        $0.value = try request.serializedBytes()
    }
}

public func complexResult(_ any: Google_Protobuf_Any) throws -> (Float, Float) {
    guard any.typeURL == "type.googleapis.com/complex.ComplexResponse" else { throw TestFailure("the result is a \(any.typeURL)") }
    let response = try Complex_ComplexResponse(serializedBytes: any.value)
    return (response.result.real, response.result.imag)
}

// MARK: - Descriptors built in tests

/// A one-file FileDescriptorSet: `messages` maps a message name to its string fields; each service
/// maps method names to (input, output) message names.
public func descriptorSet(
    package: String, messages: [String: [String]], services: [(name: String, methods: [(String, String, String)])],
    dependencies: [String] = []
) -> Google_Protobuf_FileDescriptorSet {
    let file = Google_Protobuf_FileDescriptorProto.with { file in
        file.name = "\(package).proto"
        file.package = package
        file.syntax = "proto3"
        file.dependency = dependencies
        file.messageType = messages.keys.sorted().map { name in
            .with { message in
                message.name = name
                message.field = messages[name]!.enumerated().map { index, field in
                    .with {
                        $0.name = field
                        $0.number = Int32(index + 1)
                        $0.type = .string
                        $0.label = .optional
                    }
                }
            }
        }
        file.service = services.map { service in
            .with {
                $0.name = service.name
                $0.method = service.methods.map { method in
                    .with {
                        $0.name = method.0
                        $0.inputType = ".\(package).\(method.1)"
                        $0.outputType = ".\(package).\(method.2)"
                    }
                }
            }
        }
    }
    return .with { $0.file = [file] }
}

/// `wasm` with a custom section appended (name, then payload).
public func appendingCustomSection(_ wasm: [UInt8], name: String, payload: [UInt8]) -> [UInt8] {
    wasm + wasmCustomSection(name: name, content: payload)
}

/// Values appended by several tasks, read back in the order they arrived.
public final class Recorder<Value: Sendable>: Sendable {
    private let state = Mutex<[Value]>([])
    public var values: [Value] { state.withLock { $0 } }
    public init() {}
    public func append(_ value: Value) { state.withLock { $0.append(value) } }
}

/// What `body` returned or threw, or nil if it did not finish within `limit`: a hang fails the
/// test instead of hanging the test run (the stuck task is left behind). `limit` only bounds a
/// hang; no test depends on the machine being fast enough for it.
public func outcome<T: Sendable>(within limit: Duration, of body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    let first = FirstOnly()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>?, Never>) in
        let finish = { @Sendable (result: Result<T, any Error>?) in
            if first.take() { continuation.resume(returning: result) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            finish(nil)
        }
        Task {
            do { finish(.success(try await body())) } catch { finish(.failure(error)) }
            timer.cancel()  // its finish is then a no-op; it need not sleep on
        }
    }
}

/// Waits until `condition` holds, checking every few milliseconds; throws if it still does not after
/// `limit`, which only bounds a hang (a state the test waits for that never comes), never the
/// machine's speed.
public func eventually(
    within limit: Duration = .seconds(60), fileID: String = #fileID, line: Int = #line, _ condition: () async -> Bool
) async throws {
    let end = ContinuousClock.now + limit
    while await !condition(), ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(2)) }
    guard await condition() else { throw TestFailure("\(fileID):\(line): still not so after \(limit)") }
}

/// A test's own failure, thrown by helpers that cannot record an issue themselves.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// True for the first caller of `take()` only.
public final class FirstOnly: Sendable {
    private let taken = Atomic<Bool>(false)
    public init() {}
    public func take() -> Bool { !taken.exchange(true, ordering: .relaxed) }
}

extension Wasmrpc_V1_AddResponse {
    /// The added module's id (the server sends it as hex).
    public var id: ModuleID { ModuleID(hex: metadata.id)! }
}

/// Keeps every entry logged through its `logger`, with the metadata it carried.
public final class CapturedLog: Sendable {
    public let entries = Mutex<[(message: String, metadata: Logger.Metadata)]>([])

    public init() {}

    public var logger: Logger { Logger(label: "test") { _ in CapturingHandler(log: self) } }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.entries.withLock { $0.append(("\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })) }
        }
    }
}
