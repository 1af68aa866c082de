import Crypto

/// A module's id: the lowercase hex SHA-256 of its bytes. Only a well-formed id (64 lowercase hex
/// digits) can be made from text, so an id from a client never reaches a file path unchecked.
public struct ModuleID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hex: String

    /// Parses an id; nil unless it is exactly 64 lowercase hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return nil
        }
        self.hex = hex
    }

    /// The id of `bytes`.
    public init(of bytes: [UInt8]) {
        hex = Hex.lowercase(SHA256.hash(data: bytes))
    }

    public var description: String { hex }

    public static func < (lhs: ModuleID, rhs: ModuleID) -> Bool { lhs.hex < rhs.hex }
}
