import Crypto
import Foundation
import GRPCCore
import SwiftProtobuf
import TransparencyLog
import WasmRPCProto
import WasmRPCCore

/// A module fetched with Get and proven to be in the log everybody sees: its bytes hash to the
/// id, its leaf names that id, size, descriptor and name, the leaf is included in a checkpoint
/// signed by the pinned key, and that checkpoint extends the newest one this client saw before.
public struct LoggedModule: Sendable {
    public let module: VerifiedModule
    public let entry: ModuleLogEntry
    public let leafIndex: Int64
    /// The inclusion proof that was verified: the leaf's path to `checkpoint`'s root.
    public let inclusionProof: [[UInt8]]
    public let checkpoint: Checkpoint
    /// `checkpoint` as the signed note the server sent.
    public let checkpointNote: String
    /// The checkpoint this client had seen before, if any (now proven to be a prefix).
    public let previous: Checkpoint?

    /// The leaf's proof as `ProvenLeaf` gives it for any leaf.
    public var proven: ProvenLeaf {
        ProvenLeaf(leafIndex: leafIndex, inclusionProof: inclusionProof, checkpoint: checkpoint, previous: previous)
    }
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
            guard try WireNumber.milliseconds(metadata.added, "the metadata's added time") == entry.addedMilliseconds else {
                throw LogError(.invalidProof, "the metadata's added time differs from the log entry's")
            }
            let proven = try await verify(receipt, leaf: entry.bytes, trust: trust)
            return LoggedModule(
                module: module, entry: entry, leafIndex: proven.leafIndex, inclusionProof: proven.inclusionProof,
                checkpoint: proven.checkpoint, checkpointNote: receipt.checkpoint, previous: proven.previous)
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "module \(id) is not proven to be in the log: \(error.message)")
        }
    }

    /// Checks a leaf's receipt and remembers its checkpoint: the checkpoint is signed by the
    /// pinned key (or, on first use, the key the server announces), the inclusion proof leads from
    /// `leaf` (which the caller has checked describes what it should) to its root, and it extends
    /// the newest checkpoint this client saw before.
    func verify(_ receipt: Wasmrpc_V1_LogReceipt, leaf: [UInt8], trust: LogTrust) async throws -> ProvenLeaf {
        guard Array(receipt.leaf) == leaf else { throw LogError(.invalidProof, "the receipt is for another leaf") }
        // Which log, and whose key.
        guard let origin = Checkpoint.claimedOrigin(ofNote: receipt.checkpoint) else {
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
        guard checkpoint.origin == origin, checkpoint.size == (try WireNumber.int64(receipt.treeSize, "the receipt's tree size")) else {
            throw LogError(.invalidProof, "the receipt's tree size \(receipt.treeSize) is not its checkpoint's \(checkpoint.size)")
        }

        // The leaf is in the signed tree.
        let leafIndex = try WireNumber.int64(receipt.leafIndex, "the receipt's leaf index")
        let proof = receipt.inclusionProof.map { Array($0) }
        try MerkleTree.verifyInclusion(index: leafIndex, size: checkpoint.size, leafHash: MerkleTree.leafHash(leaf), proof: proof, root: checkpoint.rootHash)

        // The signed tree extends what this client saw before.
        let previous = try trust.lastCheckpoint(origin: origin, key: key)
        try await checkConsistency(from: previous, to: checkpoint)
        try trust.remember(key: key, note: receipt.checkpoint, origin: origin)
        return ProvenLeaf(leafIndex: leafIndex, inclusionProof: proof, checkpoint: checkpoint, previous: previous)
    }

    /// Checks the receipt of a transaction a call of `method` of module `module` made (`Invoke`
    /// answers with it): the leaf is a transaction of that module and method whose input and
    /// output digests are those of `input` and `output` (the bytes sent and received), and it is in
    /// the log everybody sees (`verify`). Throws `verificationFailed` if anything does not hold.
    /// A receipt without its `receipt` (the server committed but could not read the proof at
    /// once) is completed with `State.GetTransaction` (`getTransactionVerified`).
    public func verifyTransactionReceipt(
        _ receipt: Wasmrpc_V1_TransactionReceipt, module: ModuleID, method: String?, input: [UInt8], output: [UInt8], trust: LogTrust
    ) async throws -> LoggedTransaction {
        guard receipt.hasReceipt else {
            let logged = try await getTransactionVerified(receipt.id, trust: trust)
            do {
                try Self.check(logged.entry, of: receipt, module: module, method: method, input: input, output: output)
            } catch let error as LogError {
                throw ClientError(.verificationFailed, "transaction \(receipt.id) is not this call's: \(error.message)")
            }
            return logged
        }
        do {
            let leaf = Array(receipt.receipt.leaf)
            let entry = try TransactionLogEntry(parsing: leaf)
            try Self.check(entry, of: receipt, module: module, method: method, input: input, output: output)
            let proven = try await verify(receipt.receipt, leaf: leaf, trust: trust)
            return LoggedTransaction(entry: entry, transaction: nil, proven: proven, checkpointNote: receipt.receipt.checkpoint)
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "transaction \(receipt.id) is not proven to be in the log: \(error.message)")
        }
    }

    /// Checks that `entry` is the leaf `receipt` names and records this call of `method` of
    /// `module` with these request and response bytes.
    private static func check(
        _ entry: TransactionLogEntry, of receipt: Wasmrpc_V1_TransactionReceipt, module: ModuleID, method: String?, input: [UInt8],
        output: [UInt8]
    ) throws {
        guard entry.id == receipt.id else { throw LogError(.invalidProof, "the receipt names transaction \(receipt.id), but its leaf is \(entry.id)") }
        guard entry.module == module.hex, method.map({ $0 == entry.method }) ?? true else {
            throw LogError(.invalidProof, "the leaf records a call of \(entry.method) of module \(entry.module)")
        }
        guard entry.sequence == (try WireNumber.int64(receipt.sequence, "the receipt's sequence number")) else {
            throw LogError(.invalidProof, "the receipt's sequence number is not its leaf's")
        }
        guard entry.inputSHA256 == TransactionLogEntry.digest(input), entry.outputSHA256 == TransactionLogEntry.digest(output) else {
            throw LogError(.invalidProof, "the leaf records another request or response than this call's")
        }
    }

    /// Fetches transaction `id` with its receipt and checks that the record is what its leaf
    /// commits to (module, number, method, input, output, read and write sets, time, nonce) and
    /// the leaf is in the log everybody sees (`verify`).
    public func getTransactionVerified(_ id: String, trust: LogTrust) async throws -> LoggedTransaction {
        let response = try await state.getTransaction(.with { $0.id = id })
        do {
            let record = response.transaction
            let leaf = Array(response.receipt.leaf)
            let entry = try TransactionLogEntry(parsing: leaf)
            let recorded = TransactionLogEntry(
                module: record.moduleID, sequence: try WireNumber.int64(record.sequence, "the transaction's sequence number"),
                method: record.method, input: Array(record.input), output: Array(record.output), reads: Array(record.readSet),
                writes: Array(record.writeSet), timeNanoseconds: record.timeUnixNanos, nonce: Array(record.nonce))
            guard entry.id == id, record.id == id else { throw LogError(.invalidProof, "the server sent transaction \(entry.id), not \(id)") }
            guard recorded == entry, record.leafIndex == response.receipt.leafIndex else {
                throw LogError(.invalidProof, "the transaction record differs from what its leaf commits to")
            }
            let proven = try await verify(response.receipt, leaf: leaf, trust: trust)
            return LoggedTransaction(entry: entry, transaction: record, proven: proven, checkpointNote: response.receipt.checkpoint)
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "transaction \(id) is not proven to be in the log: \(error.message)")
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
            proof = try await consistencyProof(first: old.size, second: new.size).hashes.map(Array.init)
        }
        do {
            try MerkleTree.verifyConsistency(first: old.size, second: new.size, firstRoot: old.rootHash, secondRoot: new.rootHash, proof: proof)
        } catch {
            throw LogError(
                .inconsistent,
                "the log's tree of \(new.size) leaves does not extend the tree of \(old.size) leaves this client saw before (a forked history): \(error.message)")
        }
    }

    /// Proves that the log's tree of `second` leaves (default: the newest signed checkpoint's)
    /// extends its tree of `first` leaves, and says which of the two roots a signed checkpoint —
    /// the newest, or the one this client remembers — vouches for. Throws `verificationFailed`
    /// if the server's answer is for other sizes, does not verify, or contradicts a checkpoint.
    public func verifiedConsistency(first: Int64, second: Int64?, trust: LogTrust) async throws -> VerifiedConsistency {
        guard first >= 0, (second ?? 0) >= 0 else { throw ClientError(.invalidArgument, "tree sizes are not negative") }
        do {
            let (note, newest, verifier) = try await newestCheckpoint(trust: trust)
            let origin = newest.origin
            let second = second ?? newest.size
            guard first <= second else { throw ClientError(.invalidArgument, "tree \(second) is smaller than tree \(first)") }
            let response = try await consistencyProof(first: first, second: second)
            let roots = (Array(response.firstRoot), Array(response.secondRoot))
            let hashes = response.hashes.map { Array($0) }
            try MerkleTree.verifyConsistency(first: first, second: second, firstRoot: roots.0, secondRoot: roots.1, proof: hashes)
            // A root a signed checkpoint vouches for must be that checkpoint's.
            var vouched: [Int64] = []
            for checkpoint in [newest, try trust.lastCheckpoint(origin: origin, key: verifier)].compactMap({ $0 }) {
                for (size, root) in [(first, roots.0), (second, roots.1)] where size == checkpoint.size {
                    guard checkpoint.rootHash == root else {
                        throw LogError(.inconsistent, "the root of tree \(size) differs from the signed checkpoint's")
                    }
                    if !vouched.contains(size) { vouched.append(size) }
                }
            }
            return VerifiedConsistency(
                first: first, second: second, firstRoot: roots.0, secondRoot: roots.1, hashes: hashes, checkpointNote: note,
                vouched: vouched.sorted())
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "the consistency proof does not verify: \(error.message)")
        }
    }

    /// The newest checkpoint as the server signed it, checked with the pinned key (`--log-key`, else
    /// the one pinned for its origin, else the key the server announces: trust on first use), and
    /// that key.
    func newestCheckpoint(trust: LogTrust) async throws -> (note: String, checkpoint: Checkpoint, key: NoteVerifier) {
        let (note, announced) = try await logCheckpoint()
        let origin = Checkpoint.claimedOrigin(ofNote: note) ?? ""
        let key = try trust.explicitKey ?? trust.pinnedKey(origin: origin) ?? announced
        let checkpoint = try Checkpoint(body: key.verify(note))
        guard checkpoint.origin == origin else { throw LogError(.malformed, "the checkpoint's origin line is not its own") }
        return (note, checkpoint, key)
    }

    /// The server's consistency proof between the trees of `first` and `second` leaves (both
    /// non-negative), refused unless it is for those sizes.
    func consistencyProof(first: Int64, second: Int64) async throws -> Wasmrpc_V1_GetConsistencyProofResponse {
        let response = try await logService.getConsistencyProof(
            .with {
                $0.first = UInt64(first)
                $0.second = UInt64(second)
            })
        guard response.first == UInt64(first), response.second == UInt64(second) else {
            throw LogError(
                .invalidProof,
                "the server answered with a proof between trees \(response.first) and \(response.second), not \(first) and \(second) as asked")
        }
        return response
    }
}

/// A leaf proven to be in the log: its index and inclusion proof in `checkpoint`, which extends
/// `previous` (the checkpoint this client had seen before, if any).
public struct ProvenLeaf: Sendable {
    public let leafIndex: Int64
    public let inclusionProof: [[UInt8]]
    public let checkpoint: Checkpoint
    public let previous: Checkpoint?
}

/// A transaction proven to be in the log everybody sees (`verifyTransactionReceipt`,
/// `getTransactionVerified`): its leaf, the record when it was fetched, and the proof.
public struct LoggedTransaction: Sendable {
    public let entry: TransactionLogEntry
    public let transaction: Wasmrpc_V1_Transaction?
    public let proven: ProvenLeaf
    /// The checkpoint as the signed note the server sent.
    public let checkpointNote: String
}

/// A consistency proof that verified, between the trees of `first` and `second` leaves.
public struct VerifiedConsistency: Sendable {
    public let first: Int64
    public let second: Int64
    public let firstRoot: [UInt8]
    public let secondRoot: [UInt8]
    public let hashes: [[UInt8]]
    /// The newest signed checkpoint, as the server sent it.
    public let checkpointNote: String
    /// The sizes (of `first`, `second`) whose roots a signed checkpoint vouches for.
    public let vouched: [Int64]
}

/// Numbers from the wire, checked before use: a server that lies about a size or a time gets a
/// clear error, never a trap.
enum WireNumber {
    /// `value` as an Int64, if it fits.
    static func int64(_ value: UInt64, _ what: String) throws(LogError) -> Int64 {
        guard let result = Int64(exactly: value) else { throw LogError(.malformed, "\(what) \(value) is out of range") }
        return result
    }

    /// A timestamp in milliseconds since 1970, if it is a valid timestamp that fits.
    static func milliseconds(_ timestamp: Google_Protobuf_Timestamp, _ what: String) throws(LogError) -> Int64 {
        let (whole, overflow) = timestamp.seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow, (0..<1_000_000_000).contains(timestamp.nanos) else {
            throw LogError(.malformed, "\(what) (\(timestamp.seconds) s, \(timestamp.nanos) ns) is not a valid time")
        }
        let (total, overflowed) = whole.addingReportingOverflow(Int64(timestamp.nanos / 1_000_000))
        guard !overflowed else { throw LogError(.malformed, "\(what) (\(timestamp.seconds) s) is not a valid time") }
        return total
    }
}

extension WasmRPCClient {
    /// Proves that each of `leaves` (index and bytes, computed by the caller from what it checked)
    /// is in the log: one inclusion proof each, against the newest checkpoint, whose signature is
    /// checked with the pinned key (or, on first use, the key the server announces) and which must
    /// extend the newest checkpoint this client saw before. Returns that checkpoint.
    public func proveLeaves(_ leaves: [(index: Int64, bytes: [UInt8])], trust: LogTrust) async throws -> Checkpoint {
        do {
            let (note, checkpoint, key) = try await newestCheckpoint(trust: trust)
            let origin = checkpoint.origin
            try await checkConsistency(from: try trust.lastCheckpoint(origin: origin, key: key), to: checkpoint)
            for (index, bytes) in leaves {
                let response = try await logService.getInclusionProof(
                    .with {
                        $0.leafIndex = UInt64(index)
                        $0.treeSize = UInt64(checkpoint.size)
                    })
                guard Array(response.leaf) == bytes else { throw LogError(.invalidProof, "log leaf \(index) is not the expected entry") }
                try MerkleTree.verifyInclusion(
                    index: index, size: checkpoint.size, leafHash: MerkleTree.leafHash(bytes), proof: response.hashes.map { Array($0) },
                    root: checkpoint.rootHash)
            }
            try trust.remember(key: key, note: note, origin: origin)
            return checkpoint
        } catch let error as LogError {
            throw ClientError(.verificationFailed, "not proven to be in the log: \(error.message)")
        }
    }
}
