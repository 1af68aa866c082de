import CallCore
import GRPCCore
import WasmRPCGRPC

/// The operation each gRPC method stands for: the built-in services' methods by their generated
/// descriptors; any other path is an uploaded method (a native route).
enum GRPCOperations {
    private static let builtIn: [String: CallOperation] = {
        var table: [String: CallOperation] = [:]
        func add(_ descriptors: [MethodDescriptor], _ operation: CallOperation) {
            for descriptor in descriptors { table[descriptor.fullyQualifiedMethod] = operation }
        }
        add([Wasmrpc_V1_Registry.Method.Add.descriptor], .add)
        add([Wasmrpc_V1_Registry.Method.Get.descriptor], .get)
        add([Wasmrpc_V1_Registry.Method.List.descriptor], .list)
        add(Wasmrpc_V1_Invoker.Method.descriptors, .invoke)
        add(Wasmrpc_V1_Log.Method.descriptors, .log)
        add(Wasmrpc_V1_State.Method.descriptors, .state)
        add(Grpc_Health_V1_Health.Method.descriptors, .health)
        add(Grpc_Reflection_V1_ServerReflection.Method.descriptors + Grpc_Reflection_V1alpha_ServerReflection.Method.descriptors, .reflection)
        return table
    }()

    static func operation(for method: some StringProtocol) -> CallOperation {
        let method = String(method)
        return builtIn[method] ?? .call(method)
    }
}

/// The one interceptor of the built-in services: it opens each call in the core (request id,
/// access check), and writes its log line when it ends (native routes and direct calls do the
/// same through the core). One layer rather than one per concern: each interceptor wraps every
/// call's request and response again.
struct CallInterceptor: ServerInterceptor {
    let core: CallCore

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        let call = core.begin(GRPCOperations.operation(for: method), CallHeaders(request.metadata), peer: context.remotePeer)
        // Logs the call and returns the error to end it with: mapped, and carrying the request id.
        let finish = { @Sendable (error: (any Error)?) -> RPCError? in
            let failure = error.map(CallError.fromGRPC)
            core.finished(call, method: method, error: failure)
            guard let error else { return nil }
            var mapped = error as? RPCError ?? RPCError(failure!)
            mapped.metadata.addString(call.requestID, forKey: CallLog.requestIDHeader)
            return mapped
        }
        var response: StreamingServerResponse<Output>
        do {
            try call.admit()
            response = try await next(request, context)
        } catch {
            throw finish(error)!
        }
        switch response.accepted {
        case .success(var contents):
            contents.metadata.addString(call.requestID, forKey: CallLog.requestIDHeader)
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    _ = finish(nil)
                    return trailers
                } catch {
                    throw finish(error)!
                }
            }
            response.accepted = .success(contents)
        case .failure(let error):
            response.accepted = .failure(finish(error)!)
        }
        return response
    }
}
