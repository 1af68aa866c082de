import Crypto
import WasmRPCCore

/// The leaf the log records for an added module (docs/LOG.md): six lines of UTF-8 text, each
/// ending in a newline, in this order and nothing else:
///
///     wasmrpc module v1
///     id <64 lowercase hex: SHA-256 of the module>
///     size <decimal byte count>
///     descriptor <64 lowercase hex: SHA-256 of the stored FileDescriptorSet bytes>
///     name <the module's name: at most 256 bytes of UTF-8, no control characters>
///     added <milliseconds since 1970, decimal>
public struct ModuleLogEntry: Sendable, Hashable {
    public static let header = "wasmrpc module v1"

    public var id: String
    public var size: Int64
    public var descriptorSHA256: String
    public var name: String
    public var addedMilliseconds: Int64

    public init(id: String, size: Int64, descriptor: [UInt8], name: String, addedMilliseconds: Int64) {
        self.init(id: id, size: size, descriptorSHA256: Hex.lowercase(SHA256.hash(data: descriptor)), name: name, addedMilliseconds: addedMilliseconds)
    }

    public init(id: String, size: Int64, descriptorSHA256: String, name: String, addedMilliseconds: Int64) {
        self.id = id
        self.size = size
        self.descriptorSHA256 = descriptorSHA256
        self.name = name
        self.addedMilliseconds = addedMilliseconds
    }

    /// The longest module name, in bytes of UTF-8.
    public static let maxNameBytes = 256

    /// Whether `name` can be a module's name (and so appear in a leaf): at most `maxNameBytes`
    /// bytes, no control characters (they would break the lines).
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.count <= maxNameBytes
            && name.unicodeScalars.allSatisfy { !($0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}") }
    }

    /// Why `name` is not a valid name, or nil if it is.
    public static func nameProblem(_ name: String) -> String? {
        if name.utf8.count > maxNameBytes { return "a module name is at most \(maxNameBytes) bytes of UTF-8, not \(name.utf8.count)" }
        if !isValidName(name) { return "a module name cannot contain control characters" }
        return nil
    }

    public var bytes: [UInt8] {
        Array("\(Self.header)\nid \(id)\nsize \(size)\ndescriptor \(descriptorSHA256)\nname \(name)\nadded \(addedMilliseconds)\n".utf8)
    }

    /// Parses a leaf, accepting only the canonical form (so one entry has exactly one encoding).
    public init(parsing bytes: [UInt8]) throws(LogError) {
        guard let text = String(validating: bytes, as: UTF8.self), text.hasSuffix("\n") else {
            throw LogError(.malformed, "a module log entry is UTF-8 text ending in a newline")
        }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func field(_ index: Int, _ key: String) throws(LogError) -> String {
            guard lines.indices.contains(index), lines[index].hasPrefix(key + " ") else {
                throw LogError(.malformed, "line \(index + 1) of a module log entry must start with \"\(key) \"")
            }
            return String(lines[index].dropFirst(key.count + 1))
        }
        guard lines.count == 6, lines[0] == Self.header else {
            throw LogError(.malformed, "not a \"\(Self.header)\" log entry")
        }
        let id = try field(1, "id")
        let size = try field(2, "size")
        let descriptor = try field(3, "descriptor")
        let name = try field(4, "name")
        let added = try field(5, "added")
        guard let sizeValue = Int64(size), let addedValue = Int64(added) else { throw LogError(.malformed, "size and added must be numbers") }
        if let problem = Self.nameProblem(name) { throw LogError(.malformed, "the log entry's name is not valid: \(problem)") }
        self.init(id: id, size: sizeValue, descriptorSHA256: descriptor, name: name, addedMilliseconds: addedValue)
        guard self.bytes == bytes else { throw LogError(.malformed, "the log entry is not in canonical form") }
    }
}
