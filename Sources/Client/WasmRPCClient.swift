import DynamicProto
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import NIOPosix
import SwiftProtobuf
import WasmRPCProto
import WasmRPCCore
import WasmRPCGRPC

/// A module fetched with Get whose bytes hash to the id that was asked for, with metadata for
/// that id. Only `WasmRPCClient.get` makes one.
public struct VerifiedModule: Sendable {
    public let id: ModuleID
    public let metadata: Wasmrpc_V1_Metadata
    public let wasm: [UInt8]

    /// Checks that the bytes hash to `id` and the metadata describes them.
    init(id: ModuleID, response: Wasmrpc_V1_GetResponse) throws(ClientError) {
        let wasm = Array(response.wasm)
        let actual = ModuleID(of: wasm)
        guard actual == id else {
            throw ClientError(.verificationFailed, "the server sent bytes whose SHA-256 is \(actual) for module \(id)")
        }
        guard response.metadata.id == id.hex, response.metadata.size == UInt64(wasm.count) else {
            throw ClientError(
                .verificationFailed, "the metadata (id \(response.metadata.id), size \(response.metadata.size)) does not describe module \(id)")
        }
        self.id = id
        self.metadata = response.metadata
        self.wasm = wasm
    }
}

/// The typed client of a wasmrpc server, used by the CLI and tests.
public struct WasmRPCClient: Sendable {
    public let registry: Wasmrpc_V1_Registry.Client<WasmRPCTransport>
    public let invoker: Wasmrpc_V1_Invoker.Client<WasmRPCTransport>
    public let logService: Wasmrpc_V1_Log.Client<WasmRPCTransport>
    /// Modules' world state and transactions.
    public let state: Wasmrpc_V1_State.Client<WasmRPCTransport>
    /// The standard gRPC health service.
    public let health: Grpc_Health_V1_Health.Client<WasmRPCTransport>
    /// Server reflection (v1).
    public let reflection: Grpc_Reflection_V1_ServerReflection.Client<WasmRPCTransport>
    /// The underlying client, for calls to uploaded services' own paths (see `call(_:message:module:)`).
    public let grpc: GRPCClient<WasmRPCTransport>

    /// Messages up to this size travel either way (modules are large).
    public static let maxMessageBytes = 64 << 20

    /// Connects to `address`, runs `body` with a client, and closes the connection. With a
    /// `token`, every call carries `authorization: Bearer <token>`; with `tls`, the connection is
    /// TLS (verified against `tls`'s CA or the system's roots), else plaintext. The connection's
    /// I/O runs on `eventLoopGroup` (NIO's shared group unless given).
    public static func withClient<Result: Sendable>(
        to address: ServerAddress, token: String? = nil, tls: ClientTLS? = nil,
        eventLoopGroup: MultiThreadedEventLoopGroup = .singleton, _ body: (WasmRPCClient) async throws -> Result
    ) async throws -> Result {
        let transport = try http2Transport(
            target: address.resolvableTarget, resolvers: .defaults, serviceConfig: serviceConfig, tls: tls, eventLoopGroup: eventLoopGroup)
        return try await withClient(transport: transport, token: token, body)
    }

    /// Connects to every server in `addresses` (replicas of one system), runs `body` with a client
    /// whose calls go round-robin to the servers it is connected to, and closes the connections.
    /// One address is `withClient(to:)`. Token and TLS as there; `tls`'s server name, if set, is
    /// every server's.
    public static func withClient<Result: Sendable>(
        to addresses: [ServerAddress], token: String? = nil, tls: ClientTLS? = nil,
        eventLoopGroup: MultiThreadedEventLoopGroup = .singleton, _ body: (WasmRPCClient) async throws -> Result
    ) async throws -> Result {
        guard addresses.count > 1 else {
            guard let address = addresses.first else { throw ClientError(.invalidAddress, "no server address given") }
            return try await withClient(to: address, token: token, tls: tls, eventLoopGroup: eventLoopGroup, body)
        }
        var resolvers = NameResolverRegistry.defaults
        resolvers.registerFactory(NameResolvers.WasmRPCServers())
        var serviceConfig = serviceConfig
        serviceConfig.loadBalancingConfig = [.roundRobin]
        let transport = try http2Transport(
            target: ResolvableTargets.WasmRPCServers(addresses), resolvers: resolvers, serviceConfig: serviceConfig, tls: tls,
            eventLoopGroup: eventLoopGroup)
        return try await withClient(transport: transport, token: token, body)
    }

    /// The HTTP/2 transport to `target`: TLS per `tls` (its server name as the authority), else
    /// plaintext.
    private static func http2Transport(
        target: some ResolvableTarget, resolvers: NameResolverRegistry, serviceConfig: ServiceConfig, tls: ClientTLS?,
        eventLoopGroup: MultiThreadedEventLoopGroup
    ) throws -> WasmRPCTransport {
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        do {
            security = try tls?.transportSecurity() ?? .plaintext
        } catch {
            throw ClientError(.invalidTLS, error.message)
        }
        return WasmRPCTransport(
            http2: try HTTP2ClientTransport.Posix(
                target: target, transportSecurity: security, config: .defaults { $0.http2.authority = tls?.serverName },
                resolverRegistry: resolvers, serviceConfig: serviceConfig, eventLoopGroup: eventLoopGroup))
    }

    /// Runs `body` with a client of the server in this process that serves `transport`'s other
    /// end (`WasmRPCServer.Listener.inProcess`): no socket, the same calls.
    public static func withClient<Result: Sendable>(
        inProcess transport: InProcessTransport.Client, token: String? = nil, _ body: (WasmRPCClient) async throws -> Result
    ) async throws -> Result {
        try await withClient(transport: WasmRPCTransport(inProcess: transport), token: token, body)
    }

    /// The service config every client uses: messages up to `maxMessageBytes` either way.
    static var serviceConfig: ServiceConfig {
        ServiceConfig(methodConfig: [
            MethodConfig(names: [MethodConfig.Name(service: "")], maxRequestMessageBytes: maxMessageBytes, maxResponseMessageBytes: maxMessageBytes)
        ])
    }

    private static func withClient<Result: Sendable>(
        transport: WasmRPCTransport, token: String?, _ body: (WasmRPCClient) async throws -> Result
    ) async throws -> Result {
        let interceptors: [any ClientInterceptor] = token.map { [BearerToken(token: $0)] } ?? []
        return try await withGRPCClient(transport: transport, interceptors: interceptors) { grpc in
            try await body(
                WasmRPCClient(
                    registry: .init(wrapping: grpc), invoker: .init(wrapping: grpc), logService: .init(wrapping: grpc),
                    state: .init(wrapping: grpc), health: .init(wrapping: grpc), reflection: .init(wrapping: grpc), grpc: grpc))
        }
    }

    /// Adds a module; `descriptorSet` nil means the module carries it in a custom section.
    public func add(wasm: [UInt8], descriptorSet: Google_Protobuf_FileDescriptorSet?, name: String = "") async throws
        -> Wasmrpc_V1_AddResponse
    {
        let response = try await registry.add(
            .with {
                $0.wasm = Data(wasm)
                if let descriptorSet { $0.descriptor = descriptorSet }
                $0.name = name
            })
        guard response.metadata.id == ModuleID(of: wasm).hex else {
            throw ClientError(.verificationFailed, "the server stored the module as \(response.metadata.id), not as the SHA-256 of its bytes")
        }
        return response
    }

    /// Fetches a module and checks that its bytes hash to `id` and the metadata is `id`'s.
    public func get(_ id: ModuleID) async throws -> VerifiedModule {
        try VerifiedModule(id: id, response: try await registry.get(.with { $0.id = id.hex }))
    }

    /// A module's metadata with its descriptor, without the bytes.
    public func metadata(_ id: ModuleID) async throws -> Wasmrpc_V1_Metadata {
        let response = try await registry.get(
            .with {
                $0.id = id.hex
                $0.metadataOnly = true
            })
        guard response.metadata.id == id.hex else {
            throw ClientError(.verificationFailed, "the server sent the metadata of \(response.metadata.id) for module \(id)")
        }
        return response.metadata
    }

    /// Every module, fetching page after page.
    public func list(includeDescriptors: Bool = false, pageSize: UInt32 = 0) async throws -> [Wasmrpc_V1_Metadata] {
        var modules: [Wasmrpc_V1_Metadata] = []
        var token = ""
        repeat {
            let page = try await registry.list(
                .with {
                    $0.pageSize = pageSize
                    $0.pageToken = token
                    $0.includeDescriptors = includeDescriptors
                })
            modules += page.modules
            token = page.nextPageToken
        } while !token.isEmpty
        return modules
    }

    /// Runs `function` of module `id`; `timeout` becomes the call's gRPC deadline.
    public func invoke(
        _ id: ModuleID, function: String, parameters: Google_Protobuf_Any, timeout: Duration? = nil
    ) async throws -> Google_Protobuf_Any {
        try await invokeResponse(id, function: function, parameters: parameters, timeout: timeout).response.result
    }

    /// `invoke`'s whole answer: the result, and the transaction's receipt if the call changed state.
    public func invokeResponse(
        _ id: ModuleID, function: String, parameters: Google_Protobuf_Any, timeout: Duration? = nil, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> Wasmrpc_V1_InvokeResponse {
        try await invokeAnswer(id, function: function, parameters: parameters, timeout: timeout, idempotencyKey: idempotencyKey).response
    }

    /// `invokeResponse`, and whether the server answered with the stored answer of an earlier call
    /// with the same `idempotencyKey` (the `wasmrpc-idempotent-replay` header) instead of running.
    public func invokeAnswer(
        _ id: ModuleID, function: String, parameters: Google_Protobuf_Any, timeout: Duration? = nil, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> (response: Wasmrpc_V1_InvokeResponse, replayed: Bool) {
        var options = CallOptions.defaults
        options.timeout = timeout
        var metadata: Metadata = [:]
        if let idempotencyKey { metadata.addString(idempotencyKey.text, forKey: Wire.idempotencyKeyHeader) }
        return try await invoker.invoke(
            .with {
                $0.metadata.id = id.hex
                $0.request.name = function
                $0.request.parameters = parameters
            }, metadata: metadata, options: options
        ) { response in
            (try response.message, response.metadata[stringValues: Wire.replayedHeader].contains("true"))
        }
    }

    /// Runs `function` with a message built from the module's descriptor and decodes the result.
    public func invoke(
        _ id: ModuleID, function: DynamicProto.MethodDescriptor, input: DynamicMessage, timeout: Duration? = nil
    ) async throws -> DynamicMessage {
        try await invokeDecoding(id, function: function, input: input, timeout: timeout).output
    }

    /// `invoke`, with the bytes sent and received, the transaction's receipt if the call changed
    /// state, and whether the answer is an earlier call's with the same `idempotencyKey`.
    public func invokeDecoding(
        _ id: ModuleID, function: DynamicProto.MethodDescriptor, input: DynamicMessage, timeout: Duration? = nil,
        idempotencyKey: IdempotencyKey? = nil
    ) async throws -> (
        output: DynamicMessage, sent: [UInt8], received: [UInt8], transaction: Wasmrpc_V1_TransactionReceipt?, replayed: Bool
    ) {
        let sent = input.serializedBytes()
        let (response, replayed) = try await invokeAnswer(
            id, function: function.path,
            parameters: .with {
                $0.typeURL = Wire.typeURLPrefix + input.descriptor.fullName
                $0.value = Data(sent)
            }, timeout: timeout, idempotencyKey: idempotencyKey)
        let result = response.response.result
        let expected = input.pool[function.output].fullName
        guard result.typeURL.hasSuffix("/" + expected) else {
            throw ClientError(.invalidResponse, "the result is a \"\(result.typeURL)\", not a \(expected)")
        }
        let received = Array(result.value)
        do {
            let output = try DynamicMessage(serializedBytes: received, type: function.output, pool: input.pool)
            return (output, sent, received, response.hasTransaction ? response.transaction : nil, replayed)
        } catch {
            throw ClientError(.invalidResponse, "the result is not a valid \(expected): \(error.message)")
        }
    }
}

extension WasmRPCClient {
    /// Every entry of module `id`'s state with `start <= key < end` (empty `end`: no bound), in key
    /// order, page by page.
    public func stateEntries(of id: ModuleID, from start: [UInt8] = [], to end: [UInt8] = []) async throws -> [Wasmrpc_V1_StateEntry] {
        var entries: [Wasmrpc_V1_StateEntry] = []
        var next = Data(start)
        while true {
            let page = try await state.range(
                .with {
                    $0.moduleID = id.hex
                    $0.startKey = next
                    $0.endKey = Data(end)
                    $0.pageSize = 1_000
                })
            entries += page.entries
            guard page.more, let last = page.entries.last else { return entries }
            next = last.key + Data([0])
        }
    }
}

/// The answer of a native call: the response message's bytes, the module that answered, and the
/// response headers.
public struct NativeResponse: Sendable {
    public let message: [UInt8]
    public let module: ModuleID?
    public let metadata: Metadata
}

extension WasmRPCClient {
    /// The header that pins a native call to one module (the server names the answering module in
    /// the same header).

    /// Calls an uploaded service's method at its own path (`complex.Calculator/mul`, a leading `/`
    /// allowed) with the request message's bytes, as any gRPC client would; `module` pins one of
    /// the modules that define the method (default: the most recently added); `idempotencyKey`
    /// names the call for exactly-once retries.
    public func call(
        _ path: String, message: [UInt8], module: ModuleID? = nil, timeout: Duration? = nil, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> NativeResponse {
        guard let parsed = MethodPath(path) else {
            throw ClientError(.invalidArgument, "\"\(path)\" is not a method path (package.Service/method)")
        }
        let descriptor = GRPCCore.MethodDescriptor(fullyQualifiedService: parsed.service, method: parsed.method)
        var metadata: Metadata = [:]
        if let module { metadata.addString(module.hex, forKey: Wire.moduleIDHeader) }
        if let idempotencyKey { metadata.addString(idempotencyKey.text, forKey: Wire.idempotencyKeyHeader) }
        var options = CallOptions.defaults
        options.timeout = timeout
        return try await grpc.unary(
            request: ClientRequest(message: message, metadata: metadata), descriptor: descriptor, serializer: RawBytesCoder(),
            deserializer: RawBytesCoder(), options: options
        ) { response in
            let answer = try response.message
            let module = response.metadata[stringValues: Wire.moduleIDHeader].first(where: { _ in true }).flatMap(ModuleID.init(hex:))
            return NativeResponse(message: answer, module: module, metadata: response.metadata)
        }
    }
}

/// Messages as they are: bytes in, bytes out (for calls by path, without generated types).
public struct RawBytesCoder: MessageSerializer, MessageDeserializer {
    public init() {}
    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

extension Wasmrpc_V1_Metadata {
    /// The module's descriptor set, parsed; fails if the metadata came without it.
    public func descriptorPool() throws -> DescriptorPool {
        guard hasDescriptor, !descriptor.file.isEmpty else {
            throw ClientError(.invalidResponse, "the metadata of module \(id) carries no descriptor")
        }
        do {
            return try DescriptorPool(descriptor)
        } catch {
            throw ClientError(.invalidResponse, "the descriptor of module \(id) is not usable: \(error.message)")
        }
    }
}

/// Adds `authorization: Bearer <token>` to every call.
struct BearerToken: ClientInterceptor {
    let token: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString("Bearer \(token)", forKey: "authorization")
        return try await next(request, context)
    }
}
