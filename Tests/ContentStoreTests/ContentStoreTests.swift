import Foundation
import Testing
@testable import ContentStore
import WasmRPCCore

/// A fresh data directory per test, removed afterwards.
final class TemporaryDirectory {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-store-\(UUID().uuidString)").path
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite(.timeLimit(.minutes(10))) struct ContentStoreTests {
    let directory = TemporaryDirectory()

    @Test func moduleIDsAreCheckedAndComputed() {
        #expect(ModuleID(of: Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ModuleID(hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != nil)
        #expect(ModuleID(hex: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == nil)
        #expect(ModuleID(hex: "../../etc/passwd") == nil)
        #expect(ModuleID(hex: "") == nil)
        #expect(ModuleID(hex: String(repeating: "a", count: 63)) == nil)
    }

    @Test func addGetAndIdempotentAdd() throws {
        let store = try ContentStore(directory: directory.path)
        let wasm: [UInt8] = [0, 0x61, 0x73, 0x6D, 1, 0, 0, 0]
        let functions = [
            FunctionSignature(path: "/a.B/c", input: "a.In", output: "a.Out"),
            FunctionSignature(path: "/a.B/d", input: "a.In", output: "a.Out", clientStreaming: true, serverStreaming: true),
        ]
        let (record, inserted) = try store.add(wasm: wasm, descriptor: [1, 2, 3], name: "tiny", functions: functions)
        #expect(inserted)
        #expect(record.id == ModuleID(of: wasm))
        #expect(record.size == 8)
        let (again, insertedAgain) = try store.add(wasm: wasm, descriptor: [9], name: "other name", functions: [])
        #expect(!insertedAgain)
        #expect(again == record)
        let (fetched, bytes) = try store.module(record.id)
        #expect(fetched == record)
        #expect(bytes == wasm)
        #expect(fetched.functions == ["/a.B/c", "/a.B/d"])
        let listed = try store.list().modules
        #expect(listed.map(\.signatures) == [functions])
        #expect(listed.map(\.descriptor) == [nil])
        #expect(try store.list(includeDescriptors: true).modules.map(\.descriptor) == [[1, 2, 3]])
    }

    @Test func everythingSurvivesAReopen() throws {
        var ids: [ModuleID] = []
        do {
            let store = try ContentStore(directory: directory.path)
            for index in 0..<5 {
                ids.append(try store.add(wasm: [UInt8(index), 1, 2], descriptor: [], name: "m\(index)", functions: []).record.id)
            }
        }
        let reopened = try ContentStore(directory: directory.path)
        for id in ids {
            #expect(try reopened.module(id).record.id == id)
        }
    }

    @Test func aTamperedBlobIsDataLossAndNeverServed() throws {
        let store = try ContentStore(directory: directory.path)
        let id = try store.add(wasm: Array("module bytes".utf8), descriptor: [], name: "t", functions: []).record.id
        try Data("other bytes!".utf8).write(to: URL(fileURLWithPath: store.blobs.path(of: id)))
        #expect(throws: ContentStoreError(.dataLoss, "the stored bytes of \(id) no longer hash to their id")) {
            try store.module(id)
        }
        try FileManager.default.removeItem(atPath: store.blobs.path(of: id))
        let missing = #expect(throws: ContentStoreError.self) { try store.module(id) }
        #expect(missing?.code == .dataLoss)
    }

    @Test func unknownModulesAreNotFound() throws {
        let store = try ContentStore(directory: directory.path)
        let error = #expect(throws: ContentStoreError.self) { try store.module(ModuleID(of: [42])) }
        #expect(error?.code == .notFound)
        #expect(try store.record(ModuleID(of: [42])) == nil)
    }

    @Test func listingIsPagedInInsertionOrder() throws {
        let store = try ContentStore(directory: directory.path)
        var added: [ModuleID] = []
        for index in 0..<7 {
            added.append(try store.add(wasm: [UInt8(index)], descriptor: [], name: "m\(index)", functions: []).record.id)
        }
        var seen: [ModuleID] = []
        var token: Int64?
        var pages = 0
        repeat {
            let page = try store.list(after: token, limit: 3)
            seen += page.modules.map(\.id)
            token = page.next
            pages += 1
        } while token != nil && pages < 10
        #expect(seen == added)
        #expect(pages == 3)
    }

    @Test func pagesEndByBytesAsWellAsByCountButHoldAtLeastOneModule() throws {
        let store = try ContentStore(directory: directory.path)
        // Descriptors of 1,000 bytes: four to a 4,600-byte page with descriptors, all without.
        for index in 0..<10 {
            _ = try store.add(wasm: [UInt8(index), 1], descriptor: [UInt8](repeating: UInt8(index), count: 1_000), name: "m\(index)", functions: [])
        }
        func pageSizes(maxBytes: Int, includeDescriptors: Bool) throws -> [Int] {
            var sizes: [Int] = []
            var token: Int64?
            repeat {
                let page = try store.list(after: token, limit: 1000, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
                sizes.append(page.modules.count)
                token = page.next
            } while token != nil && sizes.count < 20
            return sizes
        }
        #expect(try pageSizes(maxBytes: 4_600, includeDescriptors: true) == [4, 4, 2])
        #expect(try pageSizes(maxBytes: 4_600, includeDescriptors: false) == [10])
        #expect(try pageSizes(maxBytes: 10, includeDescriptors: true) == Array(repeating: 1, count: 10))
    }

    @Test func noTemporaryFilesAreLeftBehind() throws {
        let store = try ContentStore(directory: directory.path)
        let id = try store.add(wasm: [7, 7, 7], descriptor: [], name: "x", functions: []).record.id
        let folder = URL(fileURLWithPath: store.blobs.path(of: id)).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [id.hex])
    }
}
