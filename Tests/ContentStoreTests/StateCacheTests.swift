import Foundation
import Synchronization
import Testing
import WasmRPCCore
import WasmRPCProto

@testable import ContentStore
@testable import SQLiteEngine

/// Committed state kept in memory (`StateCache`): it answers what the engine would, after every
/// commit; a value read across a commit is not kept; it stays within its bytes. And the data
/// directory's lock that makes it safe (`DirectoryLock`).
@Suite(.timeLimit(.minutes(10))) struct StateCacheTests {
    let directory = TemporaryDirectory()
    let module = ModuleID(of: Array("a module".utf8))

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func pending(_ writes: [(String, String?)]) -> PendingTransaction {
        PendingTransaction(
            module: module, method: "/test.T/m", input: [], output: [], reads: Wasmrpc_V1_ReadSet(),
            writes: writes.map { StateWrite(key: bytes($0.0), value: $0.1.map(bytes)) }, timeNanoseconds: 0,
            nonce: Array(repeating: 0, count: 16))
    }

    /// A reader that counts its reads and can run something in the middle of one.
    final class CountingReader: StateReader, @unchecked Sendable {
        var values: [[UInt8]: [UInt8]] = [:]
        var reads = 0
        var duringRead: (() -> Void)?

        func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? {
            reads += 1
            let value = values[key]
            duringRead?()
            duringRead = nil
            return value
        }

        func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] { [] }
    }

    @Test func theStoresReaderSeesEveryCommit() async throws {
        let store = try await ContentStore.open(directory: directory.path, cachingState: true)
        let reader = store.stateReader
        let cache = try #require(store.stateCache)
        #expect(try reader.value(module, key: bytes("a")) == nil)
        _ = try await store.commit([pending([("a", "1"), ("b", "2")])], maxStateBytes: 1 << 20)
        #expect(try reader.value(module, key: bytes("a")) == bytes("1"))
        #expect(try reader.value(module, key: bytes("b")) == bytes("2"))
        #expect(cache.count == 2)
        _ = try await store.commit([pending([("a", "3")])], maxStateBytes: 1 << 20)
        #expect(cache.count == 1)
        #expect(try reader.value(module, key: bytes("a")) == bytes("3"))
        _ = try await store.commit([pending([("a", nil)])], maxStateBytes: 1 << 20)
        #expect(try reader.value(module, key: bytes("a")) == nil)
        #expect(try reader.value(module, key: bytes("b")) == bytes("2"))
        // Ranges come from the engine, and another module's keys are its own.
        #expect(try reader.range(module, start: [], end: [], limit: 10).map(\.key) == [bytes("b")])
        #expect(try reader.value(ModuleID(of: [1]), key: bytes("b")) == nil)
        // A store opened without it reads the engine, as an audit's does.
        #expect(try await ContentStore.open(directory: directory.path, readOnly: true, cachingState: true).stateCache == nil)
    }

    @Test func aValueReadAcrossACommitIsNotKept() throws {
        let base = CountingReader()
        let cache = StateCache(base: base)
        base.values[bytes("k")] = bytes("old")
        // The commit lands while the read is under way: what it read must not outlive it.
        base.duringRead = {
            base.values[self.bytes("k")] = self.bytes("new")
            cache.committed([self.module: [self.bytes("k")]])
        }
        #expect(try cache.value(module, key: bytes("k")) == bytes("old"))
        #expect(try cache.value(module, key: bytes("k")) == bytes("new"))
        #expect(try cache.value(module, key: bytes("k")) == bytes("new"))
        #expect(base.reads == 2)
        cache.forget([module])
        #expect(cache.count == 0)
        #expect(try cache.value(module, key: bytes("k")) == bytes("new"))
        #expect(base.reads == 3)
    }

    @Test func itKeepsWithinItsBytesAndNoLargeValues() throws {
        let base = CountingReader()
        let cache = StateCache(base: base, maxBytes: 1_000)
        for index in 0..<50 { base.values[bytes("key\(index)")] = Array(repeating: 1, count: 100) }
        for index in 0..<50 {
            _ = try cache.value(module, key: bytes("key\(index)"))
            #expect(cache.count >= 1 && cache.count <= 5)  // 169 bytes each, counted with their key and overhead
        }
        base.values[bytes("large")] = Array(repeating: 2, count: StateCache.maxValueBytes + 1)
        let large = StateCache(base: base)
        for _ in 0..<2 { #expect(try large.value(module, key: bytes("large"))?.count == StateCache.maxValueBytes + 1) }
        #expect(large.count == 0)
    }

    @Test func aDirectoryHasOneLockHolderAtATime() throws {
        let lock = try DirectoryLock.acquire(directory.path + "/data")
        let refused = #expect(throws: ContentStoreError.self) { try DirectoryLock.acquire(directory.path + "/data") }
        #expect(refused?.message.contains("in use by another wasmrpc server (pid \(getpid()))") == true)
        lock.release()
        lock.release()
        var again: DirectoryLock? = try DirectoryLock.acquire(directory.path + "/data")
        #expect(again != nil)
        again = nil  // dropping it releases it too
        _ = try DirectoryLock.acquire(directory.path + "/data")
    }
}
