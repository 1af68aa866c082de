/// Why a server could not start or serve. (Failures of a call are `RPCError`s, or the runtime's
/// errors mapped by `StatusMapping`.)
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The gRPC port is not listening: the server was stopped before it began, or listens
        /// on something that is not an IP address.
        public static let notListening = Code("notListening")
        /// The metrics endpoint could not be bound.
        public static let metricsUnavailable = Code("metricsUnavailable")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
