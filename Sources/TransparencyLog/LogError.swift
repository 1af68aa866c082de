import WasmRPCCore

/// Why a log operation or a verification failed. Verification failures are `invalidProof`,
/// `invalidSignature` or `inconsistent`: the caller must not trust what it was shown.
public struct LogError: LayerError {
    public typealias Code = ErrorCode<LogError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension ErrorCode where Layer == LogError {
    /// An index or size outside the tree, or a malformed argument.
    public static let outOfRange = Self("outOfRange")
    /// A proof does not lead to the expected root.
    public static let invalidProof = Self("invalidProof")
    /// A note or key is malformed, or its signature does not verify.
    public static let invalidSignature = Self("invalidSignature")
    /// Two views of the log cannot both be true: a smaller tree, or a different root at a size.
    public static let inconsistent = Self("inconsistent")
    /// A checkpoint, leaf or key does not parse.
    public static let malformed = Self("malformed")
    /// The stored log is damaged (missing node, leaf or checkpoint).
    public static let corrupt = Self("corrupt")
}
