import Foundation
import Testing
@testable import TransparencyLog

@Suite(.timeLimit(.minutes(10))) struct ModuleLogEntryTests {
    /// The test vector of docs/LOG.md.
    @Test func theDocumentedVector() throws {
        let entry = ModuleLogEntry(
            id: "e928d265eb3b089c8ea57b0e61681bc76cb9c5f5b0e7429f35effd2ff84b72ce", size: 47779, descriptor: Array("descriptor".utf8),
            name: "complex.Calculator", addedMilliseconds: 1_764_000_000_000)
        let text = """
            wasmrpc module v1
            id e928d265eb3b089c8ea57b0e61681bc76cb9c5f5b0e7429f35effd2ff84b72ce
            size 47779
            descriptor 194b520dc30384b3fc233e123778835e2adc362d91c6e33015ed3db2379d7ea1
            name complex.Calculator
            added 1764000000000

            """
        #expect(entry.descriptorSHA256 == "194b520dc30384b3fc233e123778835e2adc362d91c6e33015ed3db2379d7ea1")
        #expect(String(decoding: entry.bytes, as: UTF8.self) == text)
        #expect(try ModuleLogEntry(parsing: entry.bytes) == entry)
        #expect(MerkleTree.leafHash(entry.bytes).count == 32)
    }

    @Test func onlyTheCanonicalFormParses() {
        let good = Array("wasmrpc module v1\nid ab\nsize 1\ndescriptor cd\nname x\nadded 2\n".utf8)
        #expect(throws: Never.self) { try ModuleLogEntry(parsing: good) }
        for bad in [
            "wasmrpc module v1\nid ab\nsize 01\ndescriptor cd\nname x\nadded 2\n",
            "wasmrpc module v1\nid ab\nsize 1\ndescriptor cd\nname x\nadded 2",
            "wasmrpc module v2\nid ab\nsize 1\ndescriptor cd\nname x\nadded 2\n",
            "wasmrpc module v1\nsize 1\nid ab\ndescriptor cd\nname x\nadded 2\n",
            "wasmrpc module v1\nid ab\nsize 1\ndescriptor cd\nname x\nadded 2\nextra 3\n",
        ] {
            #expect(throws: LogError.self, "\(bad)") { try ModuleLogEntry(parsing: Array(bad.utf8)) }
        }
        #expect(ModuleLogEntry.isValidName("complex.Calculator ✓"))
        #expect(!ModuleLogEntry.isValidName("two\nlines"))
        #expect(!ModuleLogEntry.isValidName("tab\there"))
    }

    /// The test vector of docs/LOG.md for transactions.
    @Test func theDocumentedTransactionVector() throws {
        let entry = TransactionLogEntry(
            module: "e928d265eb3b089c8ea57b0e61681bc76cb9c5f5b0e7429f35effd2ff84b72ce", sequence: 3, method: "/counter.Counter/Add",
            input: Array("input".utf8), output: Array("output".utf8), reads: [], writes: Array("writes".utf8),
            timeNanoseconds: 1_764_000_000_123_456_789, nonce: Array(0..<16))
        let text = """
            wasmrpc transaction v1
            module e928d265eb3b089c8ea57b0e61681bc76cb9c5f5b0e7429f35effd2ff84b72ce
            sequence 3
            method /counter.Counter/Add
            input c96c6d5be8d08a12e7b5cdc1b207fa6b2430974c86803d8891675e76fd992c20
            output e0ee8bb50685e05fa0f47ed04203ae953fdfd055f5bd2892ea186504254f8c3a
            reads e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            writes 531995e8b52db462df5a6b23a5f7af4d5c57415a397438b002364edebcdc1e14
            time 1764000000123456789
            nonce 000102030405060708090a0b0c0d0e0f

            """
        #expect(String(decoding: entry.bytes, as: UTF8.self) == text)
        #expect(try TransactionLogEntry(parsing: entry.bytes) == entry)
        #expect(TransactionLogEntry.isTransaction(entry.bytes))
        #expect(!TransactionLogEntry.isTransaction(Array("wasmrpc module v1\n".utf8)))
        #expect(entry.id == TransactionLogEntry.digest(entry.bytes))
        var uppercase = text.replacingOccurrences(of: "nonce 0001", with: "nonce 0A01")
        #expect(throws: LogError.self) { try TransactionLogEntry(parsing: Array(uppercase.utf8)) }
        uppercase = text.replacingOccurrences(of: "sequence 3", with: "sequence 03")
        #expect(throws: LogError.self) { try TransactionLogEntry(parsing: Array(uppercase.utf8)) }
    }
}
