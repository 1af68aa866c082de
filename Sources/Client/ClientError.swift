import WasmRPCCore

/// Why the client refused something the server sent, or could not start. Errors the server
/// reports arrive as `RPCError`s with their status code.
public struct ClientError: LayerError {
    public typealias Code = ErrorCode<ClientError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension ErrorCode where Layer == ClientError {
    /// The server address is malformed.
    public static let invalidAddress = Self("invalidAddress")
    /// What the server sent does not match what was asked for (a module whose bytes do not
    /// hash to its id, metadata of another module).
    public static let verificationFailed = Self("verificationFailed")
    /// The server's descriptor or answer cannot be used.
    public static let invalidResponse = Self("invalidResponse")
    /// A TLS file is missing, not PEM, or a key does not match its certificate.
    public static let invalidTLS = Self("invalidTLS")
    /// The caller asked for something malformed (a method path without service or method).
    public static let invalidArgument = Self("invalidArgument")
}
