import WasmRPCCore

/// Why the runtime refused a module or a call before or after the guest ran. Failures inside the
/// guest are `WapcError`s; failures of the store are `ContentStoreError`s. The server maps all three
/// to gRPC status codes in one place (`Server/StatusMapping.swift`).
public struct ModuleRuntimeError: LayerError {
    public typealias Code = ErrorCode<ModuleRuntimeError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `text` quoted for an error message, cut to 100 characters: messages travel in HTTP/2
    /// trailers, and echoing a client's megabyte-long name back would break the response.
    public static func quote(_ text: String) -> String {
        let clipped = text.count > 100 ? String(text.prefix(100)) + "…" : text
        return clipped.debugDescription
    }
}

extension ErrorCode where Layer == ModuleRuntimeError {
    /// No module has this id.
    public static let moduleNotFound = Self("moduleNotFound")
    /// The module defines no function by this name.
    public static let functionNotFound = Self("functionNotFound")
    /// The bytes are not a waPC module this host can run.
    public static let invalidModule = Self("invalidModule")
    /// The descriptor is missing, malformed, not self-contained, or defines no usable service.
    public static let invalidDescriptor = Self("invalidDescriptor")
    /// The request is malformed: an ambiguous function name, a wrong type URL, parameters that
    /// do not decode as the input type, a bad id or page token.
    public static let invalidArgument = Self("invalidArgument")
    /// The guest answered with bytes that do not decode as the method's output type.
    public static let invalidOutput = Self("invalidOutput")
    /// Too many calls are waiting for a worker thread, or a request is too large.
    public static let overloaded = Self("overloaded")
    /// The caller's deadline passed before the guest could run.
    public static let deadlineExceeded = Self("deadlineExceeded")
    /// The runtime was shut down.
    public static let unavailable = Self("unavailable")
    /// The function exists but cannot be called (a client-streaming method).
    public static let unimplemented = Self("unimplemented")
}
