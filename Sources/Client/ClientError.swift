/// Why the client refused something the server sent, or could not start. Errors the server
/// reports arrive as `RPCError`s with their status code.
public struct ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The server address is malformed.
        public static let invalidAddress = Code("invalidAddress")
        /// What the server sent does not match what was asked for (a module whose bytes do not
        /// hash to its id, metadata of another module).
        public static let verificationFailed = Code("verificationFailed")
        /// The server's descriptor or answer cannot be used.
        public static let invalidResponse = Code("invalidResponse")
        /// A TLS file is missing, not PEM, or a key does not match its certificate.
        public static let invalidTLS = Code("invalidTLS")
        /// The caller asked for something malformed (a method path without service or method).
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
