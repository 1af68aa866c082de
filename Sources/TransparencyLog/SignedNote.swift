import Crypto
import Foundation
import WasmRPCCore

/// A C2SP `tlog-checkpoint` body: origin, tree size and root hash, one per line.
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var size: Int64
    public var rootHash: [UInt8]

    public init(origin: String, size: Int64, rootHash: [UInt8]) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
    }

    /// `origin\nsize\nbase64(root)\n`.
    public var body: String { "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n" }

    /// Parses a body; extension lines after the root are allowed and ignored.
    public init(body: String) throws(LogError) {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard body.hasSuffix("\n"), lines.count >= 4, !lines[0].isEmpty,
            let size = Int64(lines[1]), size >= 0, String(size) == lines[1],
            let root = Data(base64Encoded: String(lines[2])), root.count == 32
        else {
            throw LogError(.malformed, "not a checkpoint body: \(body.debugDescription)")
        }
        self.init(origin: String(lines[0]), size: size, rootHash: Array(root))
    }

    /// The origin a signed checkpoint note claims (its first line), read before the note is
    /// verified, to choose the key that must verify it; nil for an empty note.
    public static func claimedOrigin(ofNote note: String) -> String? {
        note.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.flatMap { $0.isEmpty ? nil : String($0) }
    }
}

/// An Ed25519 signer of C2SP signed notes.
public struct NoteSigner: Sendable {
    public let name: String
    private let key: Curve25519.Signing.PrivateKey

    public init(name: String, key: Curve25519.Signing.PrivateKey) throws(LogError) {
        guard NoteVerifier.isValidName(name) else { throw LogError(.malformed, "\"\(name)\" cannot name a note key") }
        self.name = name
        self.key = key
    }

    /// The verifier of this signer's notes.
    public var verifier: NoteVerifier { NoteVerifier(name: name, publicKey: key.publicKey) }

    /// `PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ seed)>`, the Go `note` package's form.
    public var encoded: String {
        "PRIVATE+KEY+\(name)+\(verifier.keyHashHex)+\(Data([0x01] + key.rawRepresentation).base64EncodedString())"
    }

    public init(encoded text: String) throws(LogError) {
        // Base64 may contain "+"; names may not.
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", let raw = Data(base64Encoded: String(parts[4])),
            raw.count == 33, raw.first == 0x01,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst())
        else {
            throw LogError(.malformed, "not an Ed25519 note signing key (PRIVATE+KEY+name+hash+key)")
        }
        try self.init(name: String(parts[2]), key: key)
        guard verifier.keyHashHex == parts[3] else { throw LogError(.malformed, "the signing key's hash does not match its key") }
    }

    /// `body` followed by a blank line and this signer's signature line.
    public func sign(_ body: String) throws(LogError) -> String {
        let signature: Data
        do {
            signature = try key.signature(for: Data(body.utf8))
        } catch {
            throw LogError(.invalidSignature, "cannot sign: \(error)")
        }
        let blob = Data(verifier.keyHash + Array(signature)).base64EncodedString()
        return body + "\n— \(name) \(blob)\n"
    }
}

/// An Ed25519 verifier of C2SP signed notes, written `<name>+<hex key hash>+<base64(0x01 ‖ key)>`.
public struct NoteVerifier: Sendable, Hashable {
    public let name: String
    public let publicKey: Curve25519.Signing.PublicKey
    /// The first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key).
    public let keyHash: [UInt8]

    public init(name: String, publicKey: Curve25519.Signing.PublicKey) {
        self.name = name
        self.publicKey = publicKey
        keyHash = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + Array(publicKey.rawRepresentation)).prefix(4))
    }

    var keyHashHex: String { Hex.lowercase(keyHash) }

    public var encoded: String {
        "\(name)+\(keyHashHex)+\(Data([0x01] + publicKey.rawRepresentation).base64EncodedString())"
    }

    public init(encoded text: String) throws(LogError) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Self.isValidName(String(parts[0])), let raw = Data(base64Encoded: String(parts[2])),
            raw.count == 33, raw.first == 0x01,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw.dropFirst())
        else {
            throw LogError(.malformed, "not an Ed25519 note verifier key (name+hash+key): \(text)")
        }
        self.init(name: String(parts[0]), publicKey: key)
        guard keyHashHex == parts[1] else { throw LogError(.malformed, "the verifier key's hash does not match its key") }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "+" && $0.value != 0x7F }
    }

    public static func == (lhs: NoteVerifier, rhs: NoteVerifier) -> Bool { lhs.encoded == rhs.encoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }

    /// The body of `note` if one of its signatures is this key's and verifies; other signatures
    /// (cosigners) are ignored.
    public func verify(_ note: String) throws(LogError) -> String {
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw LogError(.malformed, "a signed note needs a blank line before its signatures")
        }
        let body = String(note[..<split.lowerBound]) + "\n"
        let signatures = note[split.upperBound...]
        guard signatures.hasSuffix("\n") else { throw LogError(.malformed, "the signature block must end with a newline") }
        for line in signatures.split(separator: "\n") {
            guard line.hasPrefix("— ") else { throw LogError(.malformed, "not a signature line: \(line)") }
            let fields = line.dropFirst(2).split(separator: " ")
            guard fields.count == 2, fields[0] == name, let blob = Data(base64Encoded: String(fields[1])), blob.count == 68,
                Array(blob.prefix(4)) == keyHash
            else { continue }
            if publicKey.isValidSignature(blob.dropFirst(4), for: Data(body.utf8)) { return body }
            throw LogError(.invalidSignature, "the signature of \(name) on this note does not verify")
        }
        throw LogError(.invalidSignature, "the note carries no signature by \(name)+\(keyHashHex)")
    }
}
