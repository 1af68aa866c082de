import TransparencyLog
import WasmRPCCore

/// What `ContentStore.copy(to:)` moved and proved.
public struct CopySummary: Sendable, Hashable {
    public var modules: Int64 = 0
    public var transactions: Int64 = 0
    public var stateEntries: Int64 = 0
    /// The log's size and root, the same in both stores.
    public var treeSize: Int64 = 0
    public var root: [UInt8] = []
}

extension ContentStore {
    /// Copies everything in this store to `destination`, which must be empty (a new database), and
    /// proves the copy: the same tree size and root, every blob read back and re-hashed, every
    /// module's state and transactions equal, and `destination`'s audit clean. Module bytes go
    /// first (as an Add stores them), then every row — modules in List order, the log's leaves and
    /// subtree hashes, its newest checkpoint, state, transactions and idempotency keys — in one
    /// transaction of the destination, so that a copy that fails leaves no rows behind. Older
    /// checkpoints are not copied: the newest covers every leaf. The destination keeps this store's signed checkpoint,
    /// so its servers must sign with this store's key.
    public func copy(to destination: ContentStore) async throws(ContentStoreError) -> CopySummary {
        let source = engine.reads
        guard try await destination.engine.reads.logSize() == 0,
            try await destination.engine.reads.modules(after: nil, limit: 1, maxBytes: 1 << 20, includeDescriptors: false).modules.isEmpty
        else {
            throw ContentStoreError(.invalidArgument, "\(destination.engine.location) is not empty: copy into a new database")
        }
        guard let checkpoint = try await source.latestCheckpoint() else { throw ContentStoreError(.dataLoss, "the log has no checkpoint") }
        var summary = CopySummary()
        summary.treeSize = try await source.logSize()
        guard checkpoint.size == summary.treeSize else {
            throw ContentStoreError(.dataLoss, "the newest checkpoint covers \(checkpoint.size) leaves; the log has \(summary.treeSize)")
        }
        summary.root = try await source.root(size: summary.treeSize)

        // The modules, with their bytes stored (and re-hashed on both sides) before any row.
        var modules: [ModuleSummary] = []
        var token: Int64?
        repeat {
            let page = try await source.modules(after: token, limit: 100, maxBytes: 16 << 20, includeDescriptors: true)
            for module in page.modules {
                let bytes = try await blobs.bytes(of: module.id)
                try await destination.blobs.put(bytes)
                modules.append(module)
            }
            token = page.next
        } while token != nil
        summary.modules = Int64(modules.count)

        let (size, modulesToCopy) = (summary.treeSize, modules)
        let counts = try await destination.engine.transaction { transaction throws(ContentStoreError) -> (Int64, Int64) in
            for module in modulesToCopy {
                let record = ModuleRecord(
                    id: module.id, name: module.name, size: module.size, descriptor: module.descriptor ?? [], functions: module.functions,
                    addedMilliseconds: module.addedMilliseconds, leafIndex: module.leafIndex)
                try await transaction.insert(record, signatures: module.signatures ?? [])
            }
            var start: Int64 = 0
            while start < size {
                let leaves = try await source.leaves(start: start, count: 1024)
                guard !leaves.isEmpty else { throw ContentStoreError(.dataLoss, "log leaf \(start) is missing") }
                try await transaction.insertLeaves(leaves, first: start)
                start += Int64(leaves.count)
            }
            // Every complete subtree's hash: level l holds size >> l of them.
            var level = 0
            while size >> level > 0 {
                var index: Int64 = 0
                while index < size >> level {
                    let nodes = (index..<min(index + 1024, size >> level)).map { MerkleTree.Node(level: level, index: $0) }
                    let hashes = try await source.subtrees(Set(nodes))
                    guard hashes.count == nodes.count else {
                        throw ContentStoreError(.dataLoss, "the log's subtree hashes at level \(level) are incomplete")
                    }
                    try await transaction.insertSubtrees(nodes.map { ($0, hashes[$0]!) })
                    index += Int64(nodes.count)
                }
                level += 1
            }
            // (A new store signed a checkpoint for its empty log when it was opened.)
            if checkpoint.size > 0 { try await transaction.insertCheckpoint(checkpoint.note, size: checkpoint.size) }
            var (entries, transactions): (Int64, Int64) = (0, 0)
            for module in modulesToCopy {
                var after: [UInt8] = []
                var writes: [StateWrite] = []
                while true {
                    let page = try await source.stateRange(module.id, start: after, end: [], limit: 1024)
                    writes += page.map { StateWrite(key: $0.key, value: $0.value) }
                    guard page.count == 1024, let last = page.last else { break }
                    after = last.key + [0]
                }
                if !writes.isEmpty {
                    try await transaction.writeState(module.id, writes, usage: try await source.stateUsage(module.id))
                    entries += Int64(writes.count)
                }
                var sequence: Int64 = 0
                while true {
                    let page = try await source.transactions(of: module.id, after: sequence, limit: 256, maxBytes: 16 << 20)
                    guard let last = page.last else { break }
                    try await transaction.insert(page)
                    transactions += Int64(page.count)
                    sequence = last.sequence
                }
                // Clients' idempotency keys, so that a retry after the move is still answered.
                var key: IdempotencyKey?
                while true {
                    let page = try await source.idempotencyKeys(of: module.id, after: key, limit: 1024)
                    guard let last = page.last else { break }
                    try await transaction.insert(page)
                    key = last.key
                }
            }
            return (entries, transactions)
        }
        (summary.stateEntries, summary.transactions) = counts

        // The proof.
        let copied = try await destination.engine.reads.logSize()
        let copiedRoot = try await destination.engine.reads.root(size: copied)
        guard copied == summary.treeSize, copiedRoot == summary.root else {
            throw ContentStoreError(.dataLoss, "the copy's log (\(copied) leaves) does not have the source's size \(summary.treeSize) and root")
        }
        // (Every blob is read back and re-hashed by the audit below.)
        for module in modules {
            guard try await destination.engine.reads.stateUsage(module.id) == source.stateUsage(module.id),
                try await destination.engine.reads.stateRange(module.id, start: [], end: [], limit: Int.max)
                    == source.stateRange(module.id, start: [], end: [], limit: Int.max)
            else {
                throw ContentStoreError(.dataLoss, "the copy's state of module \(module.id) differs from the source's")
            }
        }
        let problems = try await destination.audit()
        guard problems.isEmpty else {
            throw ContentStoreError(.dataLoss, "the copy does not pass its audit: " + problems.joined(separator: "; "))
        }
        return summary
    }
}
