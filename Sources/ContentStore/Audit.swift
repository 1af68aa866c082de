import Foundation
import GRDB
import TransparencyLog

extension ContentStore {
    /// An offline audit of the data directory (`wasmrpc log verify`): recomputes every complete
    /// subtree hash from the leaves and compares it with the stored one, checks the newest
    /// checkpoint's signature, size and root, checks that every module row matches its leaf and
    /// every blob still hashes to its id. Returns one line per problem; empty means all is well.
    public func audit() throws(ContentStoreError) -> [String] {
        var problems: [String] = []
        do {
            try database.read { db in
                // 1. The tree, from the leaves up.
                let (size, root, treeProblems) = try LogStorage.recompute(db)
                problems += treeProblems

                // 2. The newest checkpoint.
                if let note = try LogStorage.latestCheckpoint(db)?.note {
                    do {
                        let checkpoint = try Checkpoint(body: log.signer.verifier.verify(note))
                        if checkpoint.origin != log.origin { problems.append("the newest checkpoint names origin \(checkpoint.origin), not \(log.origin)") }
                        if checkpoint.size != size { problems.append("the newest checkpoint covers \(checkpoint.size) leaves; the log has \(size)") }
                        if checkpoint.size == size, checkpoint.rootHash != root {
                            problems.append("the newest checkpoint's root does not match the root recomputed from the leaves")
                        }
                    } catch {
                        problems.append("the newest checkpoint does not verify with this data directory's key: \(error)")
                    }
                } else {
                    problems.append("the log has no checkpoint")
                }

                // 3. Module rows against their leaves, and 4. blobs against their ids.
                var modules: Int64 = 0
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM module ORDER BY seq")
                while let row = try rows.next() {
                    modules += 1
                    let record = try Self.record(from: row)
                    if let leaf = try LogStorage.leaf(record.leafIndex, db) {
                        if leaf != record.logEntry.bytes { problems.append("module \(record.id): its row differs from its log leaf \(record.leafIndex)") }
                    } else {
                        problems.append("module \(record.id) has no log leaf")
                    }
                    do throws(ContentStoreError) {
                        _ = try blobs.read(record.id)
                    } catch {
                        problems.append("module \(record.id): \(error.message)")
                    }
                }
                if modules != size { problems.append("the log has \(size) leaves for \(modules) modules") }
            }
        } catch {
            throw ContentStoreError(.storage, "cannot audit \(directory): \(error)")
        }
        return problems
    }
}
