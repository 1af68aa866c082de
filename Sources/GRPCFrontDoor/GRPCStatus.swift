import CallCore
import GRPCCore
import WasmRPCCore

extension RPCError {
    /// A call's failure as a gRPC status (`CallStatus` numbers are gRPC's codes).
    init(_ error: CallError) {
        self.init(code: Self.code(error.status), message: error.message)
    }

    /// The gRPC code of a status that is not OK (OK, which no failure has, becomes UNKNOWN).
    static func code(_ status: CallStatus) -> Code {
        Status.Code(rawValue: status.rawValue).flatMap(Code.init) ?? .unknown
    }
}

extension CallError {
    /// Whatever a gRPC handler threw as a `CallError`: grpc-swift's own `RPCError`s (a message
    /// that does not decode, say) keep their code.
    static func fromGRPC(_ error: any Error) -> CallError {
        guard let error = error as? RPCError else { return CallError(for: error) }
        return CallError(CallStatus(rawValue: error.code.rawValue) ?? .unknown, error.message)
    }
}

/// Runs a handler body and throws what it throws as an `RPCError`.
func mappingToRPCErrors<T>(_ body: () async throws -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch let error as RPCError {
        throw error
    } catch {
        throw RPCError(CallError(for: error))
    }
}

extension CallHeaders {
    /// The headers the core reads, from a gRPC call's metadata.
    init(_ metadata: Metadata) {
        self.init(
            authorization: metadata[stringValues: "authorization"].first(where: { _ in true }),
            requestID: metadata[stringValues: CallLog.requestIDHeader].first(where: { _ in true }),
            moduleIDs: Array(metadata[stringValues: Wire.moduleIDHeader]),
            idempotencyKeys: Array(metadata[stringValues: Wire.idempotencyKeyHeader]),
            timeout: metadata[stringValues: "grpc-timeout"].lazy.compactMap(GRPCTimeout.parse).first)
    }
}
