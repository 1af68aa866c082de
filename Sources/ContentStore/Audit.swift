import TransparencyLog
import WasmRPCCore

extension ContentStore {
    /// An offline audit of the store (`wasmrpc log verify`): recomputes every complete subtree
    /// hash from the leaves and compares it with the stored one, checks the newest checkpoint's
    /// signature, origin, size and root, checks that every module row and every transaction row
    /// matches its leaf (and a module's transactions are numbered without gaps), and every blob
    /// still hashes to its id. Returns one line per problem; empty means all is well. (Whether the
    /// world state is what the transactions make is `wasmrpc state verify`'s to check: it re-runs
    /// them.)
    public func audit() async throws(ContentStoreError) -> [String] {
        try await withTaskExecutorPreference(engine.executor) { () async throws(ContentStoreError) in try await checkEverything() }
    }

    private func checkEverything() async throws(ContentStoreError) -> [String] {
        let reads = engine.reads
        var problems: [String] = []

        // 1. The tree, from the leaves up, a page of leaves at a time: every subtree hash the
        // leaves make, as an append makes them, against the stored one.
        var edge: [[UInt8]] = []  // the hashes of the complete subtrees on the right edge
        var size: Int64 = 0
        let expected = try await reads.logSize()
        while size < expected {
            let page = try await reads.leaves(start: size, count: 1024)
            if page.isEmpty {
                problems.append("log leaf \(size) is missing")
                break
            }
            let created = try logging { [size, edge] () throws(LogError) in try MerkleTree.appending(page, to: size, edge: edge) }
            let stored = try await reads.subtrees(Set(created.map(\.0)))
            for (node, hash) in created where stored[node] != hash {
                problems.append("stored hash of subtree (level \(node.level), index \(node.index)) does not match the leaves")
            }
            var known = Dictionary(uniqueKeysWithValues: zip(MerkleTree.nodes(covering: 0, size), edge))
            for (node, hash) in created { known[node] = hash }
            size += Int64(page.count)
            edge = MerkleTree.nodes(covering: 0, size).compactMap { known[$0] }
        }
        let root = MerkleTree.foldRight(edge)

        // 2. The newest checkpoint.
        if let note = try await reads.latestCheckpoint()?.note {
            do {
                let checkpoint = try Checkpoint(body: log.signer.verifier.verify(note))
                if checkpoint.origin != log.origin { problems.append("the newest checkpoint names origin \(checkpoint.origin), not \(log.origin)") }
                if checkpoint.size != size { problems.append("the newest checkpoint covers \(checkpoint.size) leaves; the log has \(size)") }
                if checkpoint.size == size, checkpoint.rootHash != root {
                    problems.append("the newest checkpoint's root does not match the root recomputed from the leaves")
                }
            } catch {
                problems.append("the newest checkpoint does not verify with this store's key: \(error.message)")
            }
        } else {
            problems.append("the log has no checkpoint")
        }

        // 3. Module rows against their leaves, 4. blobs against their ids, 5. transaction rows
        // against their leaves.
        var modules: Int64 = 0
        var transactions: Int64 = 0
        var token: Int64?
        repeat {
            let page = try await reads.modules(after: token, limit: 100, maxBytes: 16 << 20, includeDescriptors: true)
            for module in page.modules {
                modules += 1
                let entry = ModuleLogEntry(
                    id: module.id.hex, size: Int64(module.size), descriptor: module.descriptor ?? [], name: module.name,
                    addedMilliseconds: module.addedMilliseconds)
                if let leaf = try await reads.leaves(start: module.leafIndex, count: 1).first, module.leafIndex >= 0 {
                    if leaf != entry.bytes { problems.append("module \(module.id): its row differs from its log leaf \(module.leafIndex)") }
                } else {
                    problems.append("module \(module.id) has no log leaf")
                }
                do throws(ContentStoreError) {
                    _ = try await blobs.bytes(of: module.id)
                } catch {
                    problems.append("module \(module.id): \(error.message)")
                }
                transactions += try await auditTransactions(of: module.id, &problems)
            }
            token = page.next
        } while token != nil
        if modules + transactions != size {
            problems.append("the log has \(size) leaves for \(modules) modules and \(transactions) transactions")
        }
        return problems
    }

    /// Checks the transactions of `module` against their leaves and their numbering; returns how
    /// many there are.
    private func auditTransactions(of module: ModuleID, _ problems: inout [String]) async throws(ContentStoreError) -> Int64 {
        let reads = engine.reads
        var (last, rows): (Int64, Int64) = (0, 0)
        while true {
            let page = try await reads.transactions(of: module, after: last, limit: 256, maxBytes: 16 << 20)
            for record in page {
                rows += 1
                if record.sequence != last + 1 {
                    problems.append("module \(module): transaction \(last + 1) is missing (the next is number \(record.sequence))")
                }
                last = record.sequence
                if let leaf = try await reads.leaves(start: record.leafIndex, count: 1).first, record.leafIndex >= 0 {
                    if leaf != record.logEntry.bytes {
                        problems.append("module \(module): transaction \(record.sequence) (\(record.id)) differs from its log leaf \(record.leafIndex)")
                    }
                } else {
                    problems.append("module \(module): transaction \(record.sequence) has no log leaf")
                }
            }
            if page.isEmpty { return rows }
        }
    }
}
