import Foundation
import Testing
@testable import ContentStore
import WasmRPCCore
@testable import SQLiteEngine
@testable import PostgresEngine

/// A fresh data directory per test, removed afterwards.
final class TemporaryDirectory {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-store-\(UUID().uuidString)").path
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The engines every storage test runs on.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, memory, postgres

    /// PostgreSQL only where a test server is named (`TestDatabase`).
    static var allCases: [Engine] { TestDatabase.url == nil ? [.sqlite, .memory] : [.sqlite, .memory, .postgres] }

    var testDescription: String { rawValue }

    func open(_ directory: TemporaryDirectory) async throws -> ContentStore {
        switch self {
        case .sqlite: return try await ContentStore.open(directory: directory.path)
        case .memory:
            // Only the signing key is on disk.
            try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
            return try await ContentStore.open(engine: MemoryStorage(), log: LogIdentity.load(directory: directory.path, origin: "test", encodedKey: nil))
        case .postgres:
            try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
            let storage = try await PostgresStorage.open(url: try await TestDatabase.create())
            return try await ContentStore.open(engine: storage, log: LogIdentity.load(directory: directory.path, origin: "test", encodedKey: nil))
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct ContentStoreTests {
    let directory = TemporaryDirectory()

    /// `.ci/run` names a PostgreSQL server: there, leaving it out is a failure, not a skip.
    @Test func postgresIsTestedWhereItIsRequired() {
        #expect(!TestDatabase.required || Engine.allCases.contains(.postgres), "WASMRPC_REQUIRE_POSTGRES=1 but WASMRPC_TEST_POSTGRES is not set")
    }

    @Test func moduleIDsAreCheckedAndComputed() {
        #expect(ModuleID(of: Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ModuleID(hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != nil)
        #expect(ModuleID(hex: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == nil)
        #expect(ModuleID(hex: "../../etc/passwd") == nil)
        #expect(ModuleID(hex: "") == nil)
        #expect(ModuleID(hex: String(repeating: "a", count: 63)) == nil)
    }

    @Test(arguments: Engine.allCases) func addGetAndIdempotentAdd(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let wasm: [UInt8] = [0, 0x61, 0x73, 0x6D, 1, 0, 0, 0]
        let functions = [
            FunctionSignature(path: "/a.B/c", input: "a.In", output: "a.Out"),
            FunctionSignature(path: "/a.B/d", input: "a.In", output: "a.Out", clientStreaming: true, serverStreaming: true),
        ]
        let (record, inserted) = try await store.add(wasm: wasm, descriptor: [1, 2, 3], name: "tiny", functions: functions)
        #expect(inserted)
        #expect(record.id == ModuleID(of: wasm))
        #expect(record.size == 8)
        let (again, insertedAgain) = try await store.add(wasm: wasm, descriptor: [9], name: "other name", functions: [])
        #expect(!insertedAgain)
        #expect(again == record)
        let (fetched, bytes) = try await store.module(record.id)
        #expect(fetched == record)
        #expect(bytes == wasm)
        #expect(fetched.functions == ["/a.B/c", "/a.B/d"])
        let listed = try await store.list().modules
        #expect(listed.map(\.signatures) == [functions])
        #expect(listed.map(\.descriptor) == [nil])
        #expect(try await store.list(includeDescriptors: true).modules.map(\.descriptor) == [[1, 2, 3]])
    }

    @Test func everythingSurvivesAReopen() async throws {
        var ids: [ModuleID] = []
        do {
            let store = try await ContentStore.open(directory: directory.path)
            for index in 0..<5 {
                ids.append(try await store.add(wasm: [UInt8(index), 1, 2], descriptor: [], name: "m\(index)", functions: []).record.id)
            }
        }
        let reopened = try await ContentStore.open(directory: directory.path)
        for id in ids {
            #expect(try await reopened.module(id).record.id == id)
        }
    }

    @Test func aTamperedBlobIsDataLossAndNeverServed() async throws {
        let store = try await ContentStore.open(directory: directory.path)
        let id = try await store.add(wasm: Array("module bytes".utf8), descriptor: [], name: "t", functions: []).record.id
        try Data("other bytes!".utf8).write(to: URL(fileURLWithPath: (store.engine as! SQLiteStorage).files.path(of: id)))
        await #expect(throws: ContentStoreError(.dataLoss, "the stored bytes of \(id) no longer hash to their id")) {
            try await store.module(id)
        }
        try FileManager.default.removeItem(atPath: (store.engine as! SQLiteStorage).files.path(of: id))
        let missing = await #expect(throws: ContentStoreError.self) { try await store.module(id) }
        #expect(missing?.code == .dataLoss)
    }

    @Test(arguments: Engine.allCases) func unknownModulesAreNotFound(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let error = await #expect(throws: ContentStoreError.self) { try await store.module(ModuleID(of: [42])) }
        #expect(error?.code == .notFound)
        #expect(try await store.record(ModuleID(of: [42])) == nil)
    }

    @Test(arguments: Engine.allCases) func listingIsPagedInInsertionOrder(engine: Engine) async throws {
        let store = try await engine.open(directory)
        var added: [ModuleID] = []
        for index in 0..<7 {
            added.append(try await store.add(wasm: [UInt8(index)], descriptor: [], name: "m\(index)", functions: []).record.id)
        }
        var seen: [ModuleID] = []
        var token: Int64?
        var pages = 0
        repeat {
            let page = try await store.list(after: token, limit: 3)
            seen += page.modules.map(\.id)
            token = page.next
            pages += 1
        } while token != nil && pages < 10
        #expect(seen == added)
        #expect(pages == 3)
    }

    @Test(arguments: Engine.allCases) func pagesEndByBytesAsWellAsByCountButHoldAtLeastOneModule(engine: Engine) async throws {
        let store = try await engine.open(directory)
        // Descriptors of 1,000 bytes: four to a 4,600-byte page with descriptors, all without.
        for index in 0..<10 {
            _ = try await store.add(wasm: [UInt8(index), 1], descriptor: [UInt8](repeating: UInt8(index), count: 1_000), name: "m\(index)", functions: [])
        }
        func pageSizes(maxBytes: Int, includeDescriptors: Bool) async throws -> [Int] {
            var sizes: [Int] = []
            var token: Int64?
            repeat {
                let page = try await store.list(after: token, limit: 1000, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
                sizes.append(page.modules.count)
                token = page.next
            } while token != nil && sizes.count < 20
            return sizes
        }
        #expect(try await pageSizes(maxBytes: 4_600, includeDescriptors: true) == [4, 4, 2])
        #expect(try await pageSizes(maxBytes: 4_600, includeDescriptors: false) == [10])
        #expect(try await pageSizes(maxBytes: 10, includeDescriptors: true) == Array(repeating: 1, count: 10))
    }

    @Test func noTemporaryFilesAreLeftBehind() async throws {
        let store = try await ContentStore.open(directory: directory.path)
        let id = try await store.add(wasm: [7, 7, 7], descriptor: [], name: "x", functions: []).record.id
        let folder = URL(fileURLWithPath: (store.engine as! SQLiteStorage).files.path(of: id)).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [id.hex])
    }
}
