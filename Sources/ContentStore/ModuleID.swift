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
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            text.append(Self.digits[Int(byte >> 4)])
            text.append(Self.digits[Int(byte & 0x0F)])
        }
        hex = String(decoding: text, as: UTF8.self)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    public var description: String { hex }

    public static func < (lhs: ModuleID, rhs: ModuleID) -> Bool { lhs.hex < rhs.hex }
}

/// Why the store could not do what was asked.
public struct ContentStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let notFound = Code("notFound")
        /// Stored bytes no longer hash to their id: never served.
        public static let dataLoss = Code("dataLoss")
        /// The file system or database failed.
        public static let storage = Code("storage")
        /// The request cannot be stored as asked (e.g. a name with control characters).
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
