/// A client's name for one state-changing call, sent in the `wasmrpc-idempotency-key` header
/// (docs/CHAINCODE.md, "Exactly-once calls"): a retry with the same key and the same request gets
/// the first call's answer instead of running again. 1 to `maxLength` printable ASCII characters
/// without spaces (a UUID, a ULID, an order number), so that it fits any header and any log line.
public struct IdempotencyKey: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// The longest key, in characters.
    public static let maxLength = 128

    /// Parses a key; nil unless it is 1 to `maxLength` characters from `!` to `~`.
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maxLength, utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        self.text = String(text)
    }

    public var description: String { text }

    /// A new key of 32 random lowercase hex digits.
    public static func random() -> IdempotencyKey {
        var generator = SystemRandomNumberGenerator()
        return IdempotencyKey(valid: Hex.lowercase((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }))
    }

    private init(valid text: String) { self.text = text }

    /// What is wrong with `text` as a key, for an error message.
    public static func problem(with text: String) -> String {
        "the \(Wire.idempotencyKeyHeader) header \(EchoedText.quote(text)) is not an idempotency key "
            + "(1 to \(maxLength) printable ASCII characters without spaces)"
    }
}
