import WasmRPCCore

/// Why the store could not do what was asked.
public struct ContentStoreError: LayerError {
    public typealias Code = ErrorCode<ContentStoreError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension ErrorCode where Layer == ContentStoreError {
    public static let notFound = Self("notFound")
    /// Stored bytes no longer hash to their id: never served.
    public static let dataLoss = Self("dataLoss")
    /// The file system or database failed.
    public static let storage = Self("storage")
    /// The request cannot be stored as asked (e.g. a name with control characters).
    public static let invalidArgument = Self("invalidArgument")
    /// A limit the store enforces would be exceeded (a module's state bytes).
    public static let limitExceeded = Self("limitExceeded")
    /// A write failed in a way that leaves unknown whether it was committed, and finding out
    /// failed too.
    public static let outcomeUnknown = Self("outcomeUnknown")
}
