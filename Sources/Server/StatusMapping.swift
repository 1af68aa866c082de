import GRPCCore
import ModuleRuntime
import TransparencyLog

/// The one place where errors become gRPC statuses (see docs/ARCHITECTURE.md, "Errors"): the
/// runtime's one error type (which stands for the guest's and the store's errors too), and the log's
/// errors. Anything not listed here is our own bug and becomes INTERNAL.
enum StatusMapping {
    /// Status messages travel in HTTP/2 trailers; longer ones are cut (a message that echoes a
    /// client's input must never break the response).
    static let maxMessageLength = 4_096

    static func rpcError(for error: any Error) -> RPCError {
        var mapped = unclipped(error)
        if mapped.message.utf8.count > maxMessageLength {
            mapped.message = String(decoding: mapped.message.utf8.prefix(maxMessageLength), as: UTF8.self) + "…"
        }
        return mapped
    }

    private static func unclipped(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as ModuleRuntimeError:
            return RPCError(code: code(for: error.code), message: error.message, cause: error)
        case let error as LogError:
            // The server reads its own log: a malformed or unverifiable entry means damage.
            return RPCError(code: .dataLoss, message: "the transparency log is damaged: \(error.message)", cause: error)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            return RPCError(code: .internalError, message: "internal error: \(error)", cause: error)
        }
    }

    static func code(for code: ModuleRuntimeError.Code) -> RPCError.Code {
        switch code {
        case .moduleNotFound, .functionNotFound: .notFound
        case .invalidModule, .invalidDescriptor, .invalidArgument: .invalidArgument
        case .invalidOutput: .failedPrecondition
        case .overloaded: .resourceExhausted
        case .deadlineExceeded: .deadlineExceeded
        case .unavailable: .unavailable
        case .unimplemented: .unimplemented
        // The guest failed the call (or a stored module no longer loads).
        case .guestFailed: .failedPrecondition
        // The guest hit its memory cap, the response size or the host-call budget.
        case .limitExceeded: .resourceExhausted
        case .dataLoss: .dataLoss
        case .conflict: .aborted
        case .idempotencyKeyReused: .failedPrecondition
        // The one server error after which the call may have committed.
        case .outcomeUnknown: .unknown
        }
    }
}

/// Runs a handler body and turns whatever it throws into the mapped `RPCError`.
func mappingErrors<T>(_ body: () async throws -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch {
        throw StatusMapping.rpcError(for: error)
    }
}
