import WasmRPCCore

/// Why the store could not do what was asked.
public struct ContentStoreError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case notFound
        /// Stored bytes no longer hash to their id: never served.
        case dataLoss
        /// The file system or database failed.
        case storage
        /// The request cannot be stored as asked (e.g. a name with control characters).
        case invalidArgument
        /// A limit the store enforces would be exceeded (a module's state bytes).
        case limitExceeded
        /// A write failed in a way that leaves unknown whether it was committed, and finding out
        /// failed too.
        case outcomeUnknown

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
