import ContentStore
import DynamicProto
import GRPCCore
import ModuleRuntime
import TransparencyLog
import WapcHost

/// The one place where errors of the lower layers become gRPC statuses (see docs/ARCHITECTURE.md,
/// "Errors"). Anything not listed here is our own bug and becomes INTERNAL.
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
        case let error as WapcError:
            return RPCError(code: code(for: error.code), message: "\(error.code): \(error.message)", cause: error)
        case let error as ContentStoreError:
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
        default: .internalError
        }
    }

    static func code(for code: WapcError.Code) -> RPCError.Code {
        switch code {
        // The guest ran out of time.
        case .outOfFuel, .deadlineExceeded: .deadlineExceeded
        // Memory, sizes, host-call budget, pool.
        case .memoryLimit, .limitExceeded, .poolExhausted: .resourceExhausted
        // The descriptor names a function the guest does not handle.
        case .unknownOperation: .notFound
        // The guest failed: it answered with an error, trapped, broke the protocol or exited; or a
        // stored module no longer loads.
        case .guestError, .trapped, .guestFault, .exited, .initializationFailed, .invalidModule, .missingExport, .unknownImport:
            .failedPrecondition
        default: .internalError
        }
    }

    static func code(for code: ContentStoreError.Code) -> RPCError.Code {
        switch code {
        case .notFound: .notFound
        case .dataLoss: .dataLoss
        // The disk or database failed: worth retrying elsewhere, not our bug.
        case .storage: .unavailable
        case .invalidArgument: .invalidArgument
        default: .internalError
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
