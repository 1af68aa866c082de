import WasmRPCCore

/// Why a waPC module could not be loaded or a call could not complete.
///
/// Codes are opaque and compared by identity (`error.code == .outOfFuel`); the message is for people.
/// The server maps codes to gRPC status codes in one place.
public struct WapcError: LayerError {
    public typealias Code = ErrorCode<WapcError>

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

extension ErrorCode where Layer == WapcError {
    /// The bytes are not a valid WebAssembly module, or it fails validation.
    public static let invalidModule = Self("invalidModule")
    /// A required export (`__guest_call`, `memory`) is missing or has the wrong type.
    public static let missingExport = Self("missingExport")
    /// The module imports something the host does not provide, or with the wrong type.
    public static let unknownImport = Self("unknownImport")
    /// `_initialize`, `_start` or `wapc_init` failed (the underlying reason is in the message).
    public static let initializationFailed = Self("initializationFailed")
    /// The guest answered with `__guest_error`.
    public static let guestError = Self("guestError")
    /// The guest does not handle the requested operation.
    public static let unknownOperation = Self("unknownOperation")
    /// The guest trapped (`unreachable`, division by zero, stack overflow, out-of-bounds access …).
    public static let trapped = Self("trapped")
    /// The call used up its fuel budget.
    public static let outOfFuel = Self("outOfFuel")
    /// The call ran past its wall-clock deadline.
    public static let deadlineExceeded = Self("deadlineExceeded")
    /// The guest needed more linear memory than its cap allows.
    public static let memoryLimit = Self("memoryLimit")
    /// The guest passed the host a pointer/length outside its memory, or broke the waPC protocol.
    public static let guestFault = Self("guestFault")
    /// The guest exceeded a per-call limit: response size, number or size of host calls.
    public static let limitExceeded = Self("limitExceeded")
    /// The guest called WASI `proc_exit` during a call.
    public static let exited = Self("exited")
    /// A host capability ended the call (`HostCallFailure.endsCall`).
    public static let endedByHost = Self("endedByHost")
    /// No instance became free within the pool's wait bound.
    public static let poolExhausted = Self("poolExhausted")
}
