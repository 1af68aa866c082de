/// Why a log operation or a verification failed. Verification failures are `invalidProof`,
/// `invalidSignature` or `inconsistent`: the caller must not trust what it was shown.
public struct LogError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// An index or size outside the tree, or a malformed argument.
        public static let outOfRange = Code("outOfRange")
        /// A proof does not lead to the expected root.
        public static let invalidProof = Code("invalidProof")
        /// A note or key is malformed, or its signature does not verify.
        public static let invalidSignature = Code("invalidSignature")
        /// Two views of the log cannot both be true: a smaller tree, or a different root at a size.
        public static let inconsistent = Code("inconsistent")
        /// A checkpoint, leaf or key does not parse.
        public static let malformed = Code("malformed")
        /// The stored log is damaged (missing node, leaf or checkpoint).
        public static let corrupt = Code("corrupt")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
