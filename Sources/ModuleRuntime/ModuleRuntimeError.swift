import ContentStore
import WapcHost
import WasmRPCCore

/// The one error the runtime throws: why it refused a module or a call, or why the guest or the
/// store failed it. A lower layer's error (`WapcError`, `ContentStoreError`) becomes one of these
/// codes, chosen by what it means for the caller, and stays readable as `cause`. The server maps
/// the codes to gRPC status codes in one place (`Server/StatusMapping.swift`).
public struct ModuleRuntimeError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// No module has this id.
        case moduleNotFound
        /// The module defines no function by this name.
        case functionNotFound
        /// The bytes are not a waPC module this host can run.
        case invalidModule
        /// The descriptor is missing, malformed, not self-contained, or defines no usable service.
        case invalidDescriptor
        /// The request is malformed: an ambiguous function name, a wrong type URL, parameters that
        /// do not decode as the input type, a bad id or page token.
        case invalidArgument
        /// The guest answered with bytes that do not decode as the method's output type.
        case invalidOutput
        /// Too many calls are waiting for a worker thread, or a request is too large.
        case overloaded
        /// The caller's deadline passed before the guest could run.
        case deadlineExceeded
        /// The runtime was shut down, or the disk or database failed.
        case unavailable
        /// The function exists but cannot be called (a client-streaming method).
        case unimplemented
        /// The guest failed the call: it answered with an error, trapped, broke the waPC protocol or
        /// exited; or a stored module no longer loads.
        case guestFailed
        /// The guest hit a per-call limit: its memory cap, the response size, the host-call budget.
        case limitExceeded
        /// Stored bytes no longer hash to their id, or are missing.
        case dataLoss
        /// A transaction kept conflicting with others (what it read kept changing before it could
        /// commit); trying again later may succeed.
        case conflict
        /// The call's idempotency key names a transaction of another method or request.
        case idempotencyKeyReused
        /// The store failed while committing the call's transaction, and could not tell afterwards
        /// whether the commit happened: the same call with its idempotency key finds out.
        case outcomeUnknown

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String
    /// The lower layer's error this one stands for, if any.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public static func == (lhs: ModuleRuntimeError, rhs: ModuleRuntimeError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }

    /// The runtime's error for `error` if it is a lower layer's; any other error unchanged.
    static func wrapping(_ error: any Error) -> any Error {
        switch error {
        case let error as WapcError: ModuleRuntimeError(code(for: error.code), "\(error.code): \(error.message)", cause: error)
        case let error as ContentStoreError: ModuleRuntimeError(code(for: error.code), error.message, cause: error)
        default: error
        }
    }

    private static func code(for code: WapcError.Code) -> Code {
        switch code {
        // The guest ran out of time.
        case .outOfFuel, .deadlineExceeded: .deadlineExceeded
        // Memory, sizes, host-call budget.
        case .memoryLimit, .limitExceeded: .limitExceeded
        case .poolExhausted: .overloaded
        // The descriptor names a function the guest does not handle.
        case .unknownOperation: .functionNotFound
        // The guest failed: it answered with an error, trapped, broke the protocol or exited; or a
        // stored module no longer loads (it is invalid, lacks an export, imports what the host does
        // not have, or its initializer fails), or a host capability ended the call.
        case .guestError, .trapped, .guestFault, .exited, .invalidModule, .missingExport, .unknownImport, .initializationFailed,
            .endedByHost:
            .guestFailed
        }
    }

    private static func code(for code: ContentStoreError.Code) -> Code {
        switch code {
        case .notFound: .moduleNotFound
        case .dataLoss: .dataLoss
        case .invalidArgument: .invalidArgument
        case .limitExceeded: .limitExceeded
        case .outcomeUnknown: .outcomeUnknown
        // The disk or database failed: worth retrying elsewhere, not our bug.
        case .storage: .unavailable
        }
    }
}
