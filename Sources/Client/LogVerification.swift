import ContentStore
import Crypto
import Foundation
import GRPCCore
import SwiftProtobuf
import TransparencyLog
import WasmRPCProto

/// A module fetched with Get and proven to be in the log everybody sees: its bytes hash to the
/// id, its leaf names that id, size, descriptor and name, the leaf is included in a checkpoint
/// signed by the pinned key, and that checkpoint extends the newest one this client saw before.
public struct LoggedModule: Sendable {
    public let module: VerifiedModule
    public let entry: ModuleLogEntry
    public let leafIndex: Int64
    public let checkpoint: Checkpoint
    /// `checkpoint` as the signed note the server sent.
    public let checkpointNote: String
    /// The checkpoint this client had seen before, if any (now proven to be a prefix).
    public let previous: Checkpoint?
}

extension WasmRPCClient {
    /// The log's verifier key as the server announces it, and its newest checkpoint.
    public func logCheckpoint() async throws -> (note: String, key: NoteVerifier) {
        let response = try await logService.getCheckpoint(Wasmrpc_V1_GetCheckpointRequest())
        do {
            return (response.checkpoint, try NoteVerifier(encoded: response.verifierKey))
        } catch {
            throw ClientError(.verificationFailed, "the server's log key is malformed: \(error.message)")
        }
    }

    /// Fetches `id` and checks everything `LoggedModule` promises; throws `verificationFailed`
    /// (and remembers nothing) if any check fails.
    public func getVerified(_ id: ModuleID, trust: LogTrust) async throws -> LoggedModule {
        let response = try await registry.get(.with { $0.id = id.hex })
        let module = try VerifiedModule(id: id, response: response)
        guard response.hasReceipt else { throw ClientError(.verificationFailed, "the server sent no log receipt for \(id)") }
        let receipt = response.receipt
        do {
            // Which log, and whose key.
            guard let origin = receipt.checkpoint.split(separator: "\n").first.map(String.init) else {
                throw LogError(.malformed, "the receipt's checkpoint is empty")
            }
            let pinned = try trust.pinnedKey(origin: origin)
            if let explicit = trust.explicitKey, let pinned, pinned != explicit {
                throw LogError(.invalidSignature, "--log-key differs from the key pinned for \(origin) (\(pinned.encoded))")
            }
            let key: NoteVerifier
            if let chosen = trust.explicitKey ?? pinned {
                key = chosen
            } else {
                key = try await logCheckpoint().key  // trust on first use
            }
            let checkpoint = try Checkpoint(body: key.verify(receipt.checkpoint))
            guard checkpoint.origin == origin, checkpoint.size == Int64(receipt.treeSize) else {
                throw LogError(.invalidProof, "the receipt's tree size \(receipt.treeSize) is not its checkpoint's \(checkpoint.size)")
            }

            // The leaf describes exactly this module.
            let entry = try ModuleLogEntry(parsing: Array(receipt.leaf))
            let metadata = response.metadata
            let descriptor: [UInt8] = try metadata.descriptor.serializedBytes()
            let expected = ModuleLogEntry(
                id: id.hex, size: Int64(module.wasm.count), descriptor: descriptor, name: metadata.name,
                addedMilliseconds: entry.addedMilliseconds)
            guard entry == expected else {
                throw LogError(.invalidProof, "the log entry does not describe the module that was sent:\n\(String(decoding: receipt.leaf, as: UTF8.self))")
            }
            guard metadata.added.seconds * 1000 + Int64(metadata.added.nanos / 1_000_000) == entry.addedMilliseconds else {
                throw LogError(.invalidProof, "the metadata's added time differs from the log entry's")
            }

            // The leaf is in the signed tree.
            let leafIndex = Int64(receipt.leafIndex)
            try MerkleTree.verifyInclusion(
                index: leafIndex, size: checkpoint.size, leafHash: MerkleTree.leafHash(entry.bytes),
                proof: receipt.inclusionProof.map(Array.init), root: checkpoint.rootHash)

            // The signed tree extends what this client saw before.
            let previous = try trust.lastCheckpoint(origin: origin, key: key)
            try await checkConsistency(from: previous, to: checkpoint)
            try trust.remember(key: key, note: receipt.checkpoint, origin: origin)
            return LoggedModule(
                module: module, entry: entry, leafIndex: leafIndex, checkpoint: checkpoint, checkpointNote: receipt.checkpoint,
                previous: previous)
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "module \(id) is not proven to be in the log: \(error.message)")
        }
    }

    /// Proves that `new` extends `old` (same origin): equal roots at equal sizes, else a
    /// consistency proof from the server.
    public func checkConsistency(from old: Checkpoint?, to new: Checkpoint) async throws {
        guard let old else { return }
        guard old.size <= new.size else {
            throw LogError(.inconsistent, "the log shrank from \(old.size) to \(new.size) leaves since this client last saw it")
        }
        var proof: [[UInt8]] = []
        if old.size < new.size, old.size > 0 {
            let response = try await logService.getConsistencyProof(
                .with {
                    $0.first = UInt64(old.size)
                    $0.second = UInt64(new.size)
                })
            proof = response.hashes.map(Array.init)
        }
        do {
            try MerkleTree.verifyConsistency(first: old.size, second: new.size, firstRoot: old.rootHash, secondRoot: new.rootHash, proof: proof)
        } catch {
            throw LogError(
                .inconsistent,
                "the log's tree of \(new.size) leaves does not extend the tree of \(old.size) leaves this client saw before (a forked history): \(error.message)")
        }
    }
}
