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
}
