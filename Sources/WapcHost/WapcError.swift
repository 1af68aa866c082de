import WasmRPCCore

/// Why a waPC module could not be loaded or a call could not complete.
///
/// Codes are opaque and compared by identity (`error.code == .outOfFuel`); the message is for people.
/// The server maps codes to gRPC status codes in one place.
public struct WapcError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The bytes are not a valid WebAssembly module, or it fails validation.
        case invalidModule
        /// A required export (`__guest_call`, `memory`) is missing or has the wrong type.
        case missingExport
        /// The module imports something the host does not provide, or with the wrong type.
        case unknownImport
        /// `_initialize`, `_start` or `wapc_init` failed (the underlying reason is in the message).
        case initializationFailed
        /// The guest answered with `__guest_error`.
        case guestError
        /// The guest does not handle the requested operation.
        case unknownOperation
        /// The guest trapped (`unreachable`, division by zero, stack overflow, out-of-bounds access …).
        case trapped
        /// The call used up its fuel budget.
        case outOfFuel
        /// The call ran past its wall-clock deadline.
        case deadlineExceeded
        /// The guest needed more linear memory than its cap allows.
        case memoryLimit
        /// The guest passed the host a pointer/length outside its memory, or broke the waPC protocol.
        case guestFault
        /// The guest exceeded a per-call limit: response size, number or size of host calls.
        case limitExceeded
        /// The guest called WASI `proc_exit` during a call.
        case exited
        /// A host capability ended the call (`HostCallFailure.endsCall`).
        case endedByHost
        /// No instance became free within the pool's wait bound.
        case poolExhausted

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidModule(_ message: String) -> Self { Self(.invalidModule, message) }
    public static func guestError(_ message: String) -> Self { Self(.guestError, message) }
    public static func trapped(_ reason: String) -> Self { Self(.trapped, reason) }
    public static func guestFault(_ message: String) -> Self { Self(.guestFault, message) }
    public static func limitExceeded(_ message: String) -> Self { Self(.limitExceeded, message) }
}
