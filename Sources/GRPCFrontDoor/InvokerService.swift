import CallCore
import Foundation
import GRPCCore
import ModuleRuntime
import WasmRPCCore
import WasmRPCGRPC
import WasmRPCProto

/// `wasmrpc.v1.Invoker`: run a module's function with an `Any` and answer with an `Any`, through
/// the core (`CallCore.run`).
struct InvokerService: Wasmrpc_V1_Invoker.ServiceProtocol {
    let core: CallCore

    func invoke(
        request: ServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> ServerResponse<Wasmrpc_V1_InvokeResponse> {
        let call = core.begin(.invoke, CallHeaders(request.metadata), peer: context.remotePeer)
        let invocation = try await mappingToRPCErrors { try await run(request.message, call) }
        return ServerResponse(message: Self.response(invocation), metadata: invocation.replayed ? [Wire.replayedHeader: "true"] : [:])
    }

    /// Answers each request in order on one stream; the first failure ends the stream with its
    /// status. The stream's deadline bounds every call in it.
    func invokeStream(
        request: StreamingServerRequest<Wasmrpc_V1_InvokeRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Wasmrpc_V1_InvokeResponse> {
        guard request.metadata[stringValues: Wire.idempotencyKeyHeader].first(where: { _ in true }) == nil else {
            throw RPCError(IdempotencyKey.refusedOnStreams)
        }
        let call = core.begin(.invoke, CallHeaders(request.metadata), peer: context.remotePeer)
        return StreamingServerResponse { writer in
            try await mappingToRPCErrors {
                for try await message in request.messages {
                    try await writer.write(Self.response(try await run(message, call)))
                }
            }
            return [:]
        }
    }

    private func run(_ request: Wasmrpc_V1_InvokeRequest, _ call: Call) async throws(CallError) -> Invocation {
        try call.admit()
        let (target, typeURL, input) = try Self.call(request)
        return try await core.run(call, target, typeURL: typeURL, input: input)
    }

    /// What an `InvokeRequest` asks to run.
    static func call(_ request: Wasmrpc_V1_InvokeRequest) throws(CallError) -> (CallTarget, typeURL: String, input: [UInt8]) {
        (
            CallTarget(module: try ModuleID.parse(request.metadata.id), function: request.request.name),
            request.request.parameters.typeURL, Array(request.request.parameters.value)
        )
    }

    static func response(_ invocation: Invocation) -> Wasmrpc_V1_InvokeResponse {
        Wasmrpc_V1_InvokeResponse.with {
            $0.response.result.typeURL = invocation.typeURL
            $0.response.result.value = Data(invocation.output)
            if let transaction = invocation.transaction { $0.transaction = Wasmrpc_V1_TransactionReceipt(transaction) }
        }
    }
}
