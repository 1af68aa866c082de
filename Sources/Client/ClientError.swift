import WasmRPCCore

/// Why the client refused something the server sent, or could not start. Errors the server
/// reports arrive as `RPCError`s with their status code.
public struct ClientError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The server address is malformed.
        case invalidAddress
        /// What the server sent does not match what was asked for (a module whose bytes do not
        /// hash to its id, metadata of another module).
        case verificationFailed
        /// The server's descriptor or answer cannot be used.
        case invalidResponse
        /// A TLS file is missing, not PEM, or a key does not match its certificate.
        case invalidTLS
        /// The caller asked for something malformed (a method path without service or method).
        case invalidArgument

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
