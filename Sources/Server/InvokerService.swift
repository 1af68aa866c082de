import ContentStore
import Foundation
import GRPCCore
import ModuleRuntime
import SwiftProtobuf
import WasmRPCProto

/// `wasmrpc.v1.Invoker`: run a module's function with an `Any` and answer with an `Any`.
struct InvokerService: Wasmrpc_V1_Invoker.ServiceProtocol {
    let runtime: ModuleRuntime
    let metrics: ServerMetrics

    func invoke(
        request: ServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> ServerResponse<Wasmrpc_V1_InvokeResponse> {
        let deadline = Self.deadline(of: request.metadata)
        let response = try await mappingErrors { try await run(request.message, deadline: deadline) }
        return ServerResponse(message: response)
    }

    /// Answers each request in order on one stream; the first failure ends the stream with its
    /// status. The stream's deadline bounds every call in it.
    func invokeStream(
        request: StreamingServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Wasmrpc_V1_InvokeResponse> {
        let deadline = Self.deadline(of: request.metadata)
        return StreamingServerResponse { writer in
            try await mappingErrors {
                for try await message in request.messages {
                    try await writer.write(try await run(message, deadline: deadline))
                }
            }
            return [:]
        }
    }

    /// One call, counted in the invocation metrics. A failed call is labelled with its module and
    /// function only when they exist (the module is loaded and the name resolves), so that ids and
    /// names clients make up cannot add series.
    private func run(_ request: Wasmrpc_V1_InvokeRequest, deadline: ContinuousClock.Instant?) async throws -> Wasmrpc_V1_InvokeResponse {
        let started = ContinuousClock.now
        let id = try RegistryService.moduleID(request.metadata.id)
        let parameters = request.request.parameters
        let invocation: Invocation
        do {
            invocation = try await runtime.invoke(
                module: id, function: request.request.name, typeURL: parameters.typeURL, parameters: Array(parameters.value),
                deadline: deadline)
        } catch {
            let path = runtime.loadedFunctionPath(module: id, name: request.request.name)
            metrics.invocation(
                module: path == nil ? "" : "\(id)", function: path ?? "", code: StatusMapping.rpcError(for: error).code,
                duration: started.duration(to: .now), fuel: nil)
            throw error
        }
        metrics.invocation(
            module: "\(id)", function: invocation.function.methodPath.qualified, code: nil, duration: started.duration(to: .now),
            fuel: invocation.fuelUsed)
        return Wasmrpc_V1_InvokeResponse.with {
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
