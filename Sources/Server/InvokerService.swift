import ContentStore
import Foundation
import GRPCCore
import ModuleRuntime
import WasmRPCCore
import SwiftProtobuf
import WasmRPCProto
import WasmRPCGRPC

/// `wasmrpc.v1.Invoker`: run a module's function with an `Any` and answer with an `Any`.
struct InvokerService: Wasmrpc_V1_Invoker.ServiceProtocol {
    let runtime: ModuleRuntime
    let metrics: ServerMetrics

    func invoke(
        request: ServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> ServerResponse<Wasmrpc_V1_InvokeResponse> {
        let deadline = Self.deadline(of: request.metadata)
        let key = try IdempotencyKey.fromHeader(values: request.metadata[stringValues: Wire.idempotencyKeyHeader])
        let invocation = try await mappingErrors { try await run(request.message, deadline: deadline, idempotencyKey: key) }
        return ServerResponse(message: Self.response(invocation), metadata: invocation.replayed ? [Wire.replayedHeader: "true"] : [:])
    }

    /// Answers each request in order on one stream; the first failure ends the stream with its
    /// status. The stream's deadline bounds every call in it.
    func invokeStream(
        request: StreamingServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Wasmrpc_V1_InvokeResponse> {
        let deadline = Self.deadline(of: request.metadata)
        guard request.metadata[stringValues: Wire.idempotencyKeyHeader].first(where: { _ in true }) == nil else {
            throw IdempotencyKey.refusedOnStreams
        }
        return StreamingServerResponse { writer in
            try await mappingErrors {
                for try await message in request.messages {
                    try await writer.write(Self.response(try await run(message, deadline: deadline)))
                }
            }
            return [:]
        }
    }

    /// One call, counted in the invocation metrics.
    private func run(
        _ request: Wasmrpc_V1_InvokeRequest, deadline: ContinuousClock.Instant?, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> Invocation {
        let started = ContinuousClock.now
        let call = try Call(request)
        let invocation: Invocation
        do {
            invocation = try await runtime.invoke(
                module: call.module, function: call.function, typeURL: call.typeURL, parameters: call.parameters, deadline: deadline,
                idempotencyKey: idempotencyKey)
        } catch {
            Self.count(call, .failure(error), started: started, runtime: runtime, metrics: metrics)
            throw error
        }
        Self.count(call, .success(invocation), started: started, runtime: runtime, metrics: metrics)
        return invocation
    }

    /// What an `InvokeRequest` asks to run.
    struct Call: Sendable {
        let module: ModuleID
        let function: String
        let typeURL: String
        let parameters: [UInt8]

        init(_ request: Wasmrpc_V1_InvokeRequest) throws(RPCError) {
            try self.init(
                module: request.metadata.id, function: request.request.name, typeURL: request.request.parameters.typeURL,
                parameters: Array(request.request.parameters.value))
        }

        init(module: String, function: String, typeURL: String, parameters: [UInt8]) throws(RPCError) {
            self.module = try RegistryService.moduleID(module)
            self.function = function
            self.typeURL = typeURL
            self.parameters = parameters
        }
    }

    /// Counts a finished call in the invocation metrics. A failed call is labelled with its module
    /// and function only when they exist (the module is loaded and the name resolves), so that ids
    /// and names clients make up cannot add series.
    static func count(
        _ call: Call, _ result: Result<Invocation, any Error>, started: ContinuousClock.Instant, runtime: ModuleRuntime, metrics: ServerMetrics
    ) {
        count(module: call.module, function: call.function, result, started: started, runtime: runtime, metrics: metrics)
    }

    /// `count` for a call of the function named `function` (as the client named it) of `module`.
    static func count(
        module: ModuleID, function: String, _ result: Result<Invocation, any Error>, started: ContinuousClock.Instant,
        runtime: ModuleRuntime, metrics: ServerMetrics
    ) {
        switch result {
        case .success(let invocation):
            metrics.invocation(
                module: "\(module)", function: invocation.function.methodPath.qualified, code: nil,
                duration: started.duration(to: .now), fuel: invocation.fuelUsed)
        case .failure(let error):
            let path = runtime.loadedFunctionPath(module: module, name: function)
            metrics.invocation(
                module: path == nil ? "" : "\(module)", function: path ?? "", code: StatusMapping.rpcError(for: error).code,
                duration: started.duration(to: .now), fuel: nil)
        }
    }

    static func response(_ invocation: Invocation) -> Wasmrpc_V1_InvokeResponse {
        Wasmrpc_V1_InvokeResponse.with {
            $0.response.result.typeURL = invocation.typeURL
            $0.response.result.value = Data(invocation.output)
            if let transaction = invocation.transaction { $0.transaction = Wasmrpc_V1_TransactionReceipt(transaction) }
        }
    }

    /// When the client's `grpc-timeout` runs out, measured from now.
    static func deadline(of metadata: Metadata) -> ContinuousClock.Instant? {
        for value in metadata[stringValues: "grpc-timeout"] {
            if let timeout = GRPCTimeout.parse(value) { return .now + timeout }
        }
        return nil
    }
}
