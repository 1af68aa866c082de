/// Why the store could not do what was asked.
public struct ContentStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let notFound = Code("notFound")
        /// Stored bytes no longer hash to their id: never served.
        public static let dataLoss = Code("dataLoss")
        /// The file system or database failed.
        public static let storage = Code("storage")
        /// The request cannot be stored as asked (e.g. a name with control characters).
        public static let invalidArgument = Code("invalidArgument")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
