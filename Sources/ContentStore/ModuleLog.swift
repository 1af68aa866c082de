import Crypto
import Foundation
import TransparencyLog
import WasmRPCCore

/// Proof that a module is in the log: its leaf, where it is, the inclusion proof, and the signed
/// checkpoint of the tree the proof leads to.
public struct LogReceipt: Sendable, Hashable {
    public var leafIndex: Int64
    public var leaf: [UInt8]
    public var treeSize: Int64
    public var inclusionProof: [[UInt8]]
    /// The signed note of the checkpoint for `treeSize`.
    public var checkpoint: String
}

/// The log's identity: its origin line and the key that signs its checkpoints.
public struct LogIdentity: Sendable {
    public let origin: String
    public let signer: NoteSigner

    /// The signing key's file in the data directory (mode 0600).
    public static let keyFileName = "log.key"

    public init(origin: String, signer: NoteSigner) {
        self.origin = origin
        self.signer = signer
    }

    /// The key from `encodedKey` if given, else from `directory/log.key`, created on first use
    /// (written durably, mode 0600). With `create` false, a missing key file is an error. A key
    /// file that group or others may read is refused: whoever reads it can sign checkpoints.
    public static func load(directory: String, origin: String, encodedKey: String?, create: Bool = true) throws(ContentStoreError)
        -> LogIdentity
    {
        do {
            if let encodedKey {
                return LogIdentity(origin: origin, signer: try NoteSigner(encoded: encodedKey))
            }
            let path = directory + "/" + keyFileName
            if let encoded = try readKeyFile(path) {
                return LogIdentity(origin: origin, signer: try NoteSigner(encoded: encoded))
            }
            guard create else { throw ContentStoreError(.notFound, "\(path) does not exist") }
            let signer = try NoteSigner(name: origin, key: Curve25519.Signing.PrivateKey())
            try DurableFile.write(Array((signer.encoded + "\n").utf8), to: path, mode: 0o600)
            return LogIdentity(origin: origin, signer: signer)
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.storage, "the log signing key is not usable: \(error)")
        }
    }

    /// The text of the signing key file at `path`, or nil if there is none. A file that group or
    /// others may read is refused: whoever reads it can sign checkpoints.
    public static func readKeyFile(_ path: String) throws(ContentStoreError) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw DurableFile.failure("read \(path)")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw ContentStoreError(
                .storage,
                "the log signing key \(path) may be read by group or others (mode \(String(status.st_mode & 0o777, radix: 8))): "
                    + "run chmod 600 on it (and check who read it)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw DurableFile.failure("read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// The text of the key file at `path` if one is given (`notFound` if there is none there).
    public static func readKeyFile(ifGiven path: String?) throws(ContentStoreError) -> String? {
        guard let path else { return nil }
        guard let key = try readKeyFile(path) else { throw ContentStoreError(.notFound, "\(path) does not exist") }
        return key
    }

}
