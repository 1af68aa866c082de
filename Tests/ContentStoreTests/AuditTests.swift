import Foundation
import GRDB
import Testing
@testable import ContentStore
import WasmRPCCore
import WasmRPCProto
@testable import SQLiteEngine

@Suite(.timeLimit(.minutes(10))) struct AuditTests {
    /// A store with three modules, two transactions of the first, its directory, and the modules' ids.
    func makeStore() async throws -> (String, [ModuleID]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-audit-\(UUID().uuidString)").path
        let store = try await ContentStore.open(directory: directory)
        var ids: [ModuleID] = []
        for n in 0..<3 {
            let functions = [FunctionSignature(path: "/s.S/f", input: "s.In", output: "s.Out")]
            ids.append(try await store.add(wasm: Array("module \(n)".utf8), descriptor: [UInt8(n)], name: "m\(n)", functions: functions).record.id)
        }
        for value in ["1", "2"] {
            let transaction = PendingTransaction(
                module: ids[0], method: "/s.S/f", input: [], output: [], reads: .init(), writes: [StateWrite(key: [1], value: Array(value.utf8))],
                timeNanoseconds: 0, nonce: Array(repeating: 0, count: 16))
            _ = try await store.commit([transaction], maxStateBytes: 1 << 20)
        }
        return (directory, ids)
    }

    @Test func aCleanStorePassesAndEveryKindOfTamperingIsReported() async throws {
        let (directory, ids) = try await makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try await ContentStore.open(directory: directory, readOnly: true).audit() == [])

        let edits: [(String, String, String)] = [
            ("a module row", "UPDATE module SET size = size + 1 WHERE leaf_index = 1", "differs from its log leaf"),
            ("a leaf", "UPDATE log_leaf SET data = X'00' WHERE idx = 2", "does not match the leaves"),
            ("a stored hash", "UPDATE log_node SET hash = zeroblob(32) WHERE level = 0 AND idx = 0", "does not match the leaves"),
            ("the checkpoint", "UPDATE log_checkpoint SET note = replace(note, 'wasmrpc', 'wasmRPC')", "does not verify"),
            ("a transaction row", "UPDATE ledger_transaction SET output = X'00' WHERE sequence = 2", "differs from its log leaf"),
            ("a transaction's leaf", "UPDATE log_leaf SET data = X'00' WHERE idx = 4", "differs from its log leaf"),
            ("a deleted transaction", "DELETE FROM ledger_transaction WHERE sequence = 1", "transaction 1 is missing"),
        ]
        for (what, sql, expected) in edits {
            let copy = directory + "-" + UUID().uuidString
            try FileManager.default.copyItem(atPath: directory, toPath: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let queue = try DatabaseQueue(path: copy + "/wasmrpc.sqlite")
            try await queue.write { try $0.execute(sql: sql) }
            try queue.close()
            let problems = try await ContentStore.open(directory: copy, readOnly: true).audit()
            #expect(problems.contains { $0.contains(expected) }, "\(what): \(problems)")
        }

        // A blob edited on disk.
        let path = "\(directory)/blobs/sha256/\(ids[0].hex.prefix(2))/\(ids[0].hex)"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: path))
        let problems = try await ContentStore.open(directory: directory, readOnly: true).audit()
        #expect(problems.count == 1 && problems[0].contains(ids[0].hex), "\(problems)")
    }

    @Test func theLogKeyIsCreatedOnceWithMode0600() async throws {
        let (directory, _) = try await makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/log.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let first = try await ContentStore.open(directory: directory).log.signer.verifier
        #expect(try await ContentStore.open(directory: directory).log.signer.verifier == first)
        // An audit never creates a key.
        let empty = directory + "-empty"
        defer { try? FileManager.default.removeItem(atPath: empty) }
        await #expect(throws: ContentStoreError.self) { try await ContentStore.open(directory: empty, readOnly: true) }
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") } == [])
    }

    /// Every file under `directory` but SQLite's WAL companions, with its bytes.
    func files(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for case let path as String in FileManager.default.enumerator(atPath: directory)!
        where !path.hasSuffix("-wal") && !path.hasSuffix("-shm") {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path))
            }
        }
        return files
    }

    @Test func anAuditChangesNothingAndRefusesASchemaItWouldHaveToMigrate() async throws {
        let (directory, _) = try await makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = try files(directory)
        #expect(try await ContentStore.open(directory: directory, readOnly: true).audit() == [])
        #expect(try files(directory) == before)
        // A store from an older wasmrpc (its last migration not applied) is refused, not migrated.
        try await DatabaseQueue(path: directory + "/wasmrpc.sqlite").write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'module-leaf-index'")
        }
        let older = try files(directory)
        let error = await #expect(throws: ContentStoreError.self) { try await ContentStore.open(directory: directory, readOnly: true) }
        #expect(error?.message.contains("module-leaf-index") == true, "\(String(describing: error))")
        #expect(try files(directory) == older)
        // A missing key or database is an error, and nothing is created.
        try FileManager.default.removeItem(atPath: directory + "/log.key")
        let keyless = try files(directory)
        await #expect(throws: ContentStoreError.self) { try await ContentStore.open(directory: directory, readOnly: true) }
        #expect(try files(directory) == keyless)
        let missing = directory + "-missing"
        await #expect(throws: ContentStoreError.self) { try await ContentStore.open(directory: missing, readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func aLogKeyThatOthersMayReadIsRefused() async throws {
        let (directory, _) = try await makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for mode in [0o640, 0o604] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: directory + "/log.key")
            let error = await #expect(throws: ContentStoreError.self) { try await ContentStore.open(directory: directory) }
            #expect(error?.message.contains("chmod 600") == true, "\(String(describing: error))")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/log.key")
        _ = try await ContentStore.open(directory: directory)
    }
}
