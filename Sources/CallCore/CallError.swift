import ModuleRuntime
import TransparencyLog

/// How a call ended, in the canonical codes that gRPC statuses and `google.rpc.Code` share (the
/// raw value is the code's number). Each front door writes it its own way: the gRPC door as a
/// `grpc-status`, the HTTP door as an HTTP status with the code's `name` in the error document.
public enum CallStatus: Int, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case internalError = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16

    /// The metrics label and log value: `ok`, `notFound`, `internalError`, ….
    public var description: String { Self.labels[rawValue] }

    /// The canonical name: `OK`, `NOT_FOUND`, `INTERNAL`, ….
    public var name: String { Self.names[rawValue] }

    private static let labels = [
        "ok", "cancelled", "unknown", "invalidArgument", "deadlineExceeded", "notFound", "alreadyExists", "permissionDenied",
        "resourceExhausted", "failedPrecondition", "aborted", "outOfRange", "unimplemented", "internalError", "unavailable",
        "dataLoss", "unauthenticated",
    ]
    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED",
    ]
}

/// A call's failure as every front door reports it: a status and a message (at most
/// `maxMessageLength` bytes once made by `CallError(for:)`).
public struct CallError: Error, Sendable, CustomStringConvertible {
    public var status: CallStatus
    public var message: String

    public init(_ status: CallStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }

    /// Status messages travel in HTTP/2 trailers; longer ones are cut (a message that echoes a
    /// client's input must never break the response).
    public static let maxMessageLength = 4_096

    /// The one place where errors become call statuses (see docs/ARCHITECTURE.md, "Errors"): the
    /// runtime's one error type (which stands for the guest's and the store's errors too), and the
    /// log's errors. Anything not listed here is our own bug and becomes INTERNAL.
    public init(for error: any Error) {
        switch error {
        case let error as CallError:
            self = error
        case let error as ModuleRuntimeError:
            self.init(Self.status(for: error.code), error.message)
        case let error as LogError:
            // The server reads its own log: a malformed or unverifiable entry means damage.
            self.init(.dataLoss, "the transparency log is damaged: \(error.message)")
        case is CancellationError:
            self.init(.cancelled, "the call was cancelled")
        default:
            self.init(.internalError, "internal error: \(error)")
        }
        if message.utf8.count > Self.maxMessageLength {
            message = String(decoding: message.utf8.prefix(Self.maxMessageLength), as: UTF8.self) + "…"
        }
    }

    static func status(for code: ModuleRuntimeError.Code) -> CallStatus {
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

/// Runs `body` and turns whatever it throws into a `CallError`.
public func mappingErrors<T>(_ body: () async throws -> T) async throws(CallError) -> T {
    do {
        return try await body()
    } catch {
        throw CallError(for: error)
    }
}
