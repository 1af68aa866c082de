import Crypto

/// A module's id: the lowercase hex SHA-256 of its bytes. Only a well-formed id (64 lowercase hex
/// digits) can be made from text, so an id from a client never reaches a file path unchecked.
public struct ModuleID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hex: String

    /// Parses an id; nil unless it is exactly 64 lowercase hex digits.
    public init?(hex: String) {
        guard Hex.isLowercase(hex, count: 64) else { return nil }
        self.hex = hex
    }

    /// The id of `bytes`.
    public init(of bytes: [UInt8]) {
        hex = Hex.lowercase(SHA256.hash(data: bytes))
    }

    public var description: String { hex }

    /// The 32 bytes of the digest.
    public var bytes: [UInt8] { Hex.decode(hex) ?? [] }

    public static func < (lhs: ModuleID, rhs: ModuleID) -> Bool { lhs.hex < rhs.hex }
}
