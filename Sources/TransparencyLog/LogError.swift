import WasmRPCCore

/// Why a log operation or a verification failed. Verification failures are `invalidProof`,
/// `invalidSignature` or `inconsistent`: the caller must not trust what it was shown.
public struct LogError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// An index or size outside the tree, or a malformed argument.
        case outOfRange
        /// A proof does not lead to the expected root.
        case invalidProof
        /// A note or key is malformed, or its signature does not verify.
        case invalidSignature
        /// Two views of the log cannot both be true: a smaller tree, or a different root at a size.
        case inconsistent
        /// A checkpoint, leaf or key does not parse.
        case malformed
        /// The stored log is damaged (missing node, leaf or checkpoint).
        case corrupt

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
