import Crypto
import Foundation
import GRDB
import TransparencyLog

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

    public static let defaultOrigin = "wasmrpc.local/log"
    /// The signing key's file in the data directory (mode 0600).
    public static let keyFileName = "log.key"

    /// The key from `encodedKey` if given, else from `directory/log.key`, created on first use.
    /// With `create` false, a missing key file is an error.
    public static func load(directory: String, origin: String, encodedKey: String?, create: Bool = true) throws(ContentStoreError)
        -> LogIdentity
    {
        do {
            if let encodedKey {
                return LogIdentity(origin: origin, signer: try NoteSigner(encoded: encodedKey))
            }
            let path = directory + "/" + keyFileName
            if let data = FileManager.default.contents(atPath: path) {
                return LogIdentity(origin: origin, signer: try NoteSigner(encoded: String(decoding: data, as: UTF8.self)))
            }
            guard create else { throw ContentStoreError(.notFound, "\(path) does not exist") }
            let signer = try NoteSigner(name: origin, key: Curve25519.Signing.PrivateKey())
            guard FileManager.default.createFile(atPath: path, contents: Data((signer.encoded + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw ContentStoreError(.storage, "cannot create the log signing key \(path)")
            }
            return LogIdentity(origin: origin, signer: signer)
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.storage, "the log signing key is not usable: \(error)")
        }
    }

    /// Signs the checkpoint of the first `size` leaves and stores it.
    func signCheckpoint(size: Int64, _ db: Database) throws {
        let root = try LogStorage.root(size: size, db)
        let note = try signer.sign(Checkpoint(origin: origin, size: size, rootHash: root).body)
        try LogStorage.storeCheckpoint(note, size: size, db)
    }
}
