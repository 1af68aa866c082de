import Foundation
import Testing
@testable import ContentStore
@testable import PostgresEngine

/// The PostgreSQL engine's schema versions (where a test server is named: `TestDatabase`).
@Suite(.timeLimit(.minutes(10)), .enabled(if: TestDatabase.url != nil)) struct PostgresSchemaTests {
    @Test func aNewDatabaseGetsEveryMigrationOnceAndReopens() async throws {
        let url = try await TestDatabase.create()
        _ = try await PostgresStorage.open(url: url)
        _ = try await PostgresStorage.open(url: url)  // nothing left to apply
        _ = try await PostgresStorage.open(url: url, readOnly: true)
    }

    @Test func aDatabaseANewerWasmrpcMigratedIsRefused() async throws {
        let url = try await TestDatabase.create()
        _ = try await PostgresStorage.open(url: url)
        try await TestDatabase.execute("INSERT INTO wasmrpc_migration (version, name, applied) VALUES (999, 'future', 0)", in: url)
        for readOnly in [false, true] {
            let error = await #expect(throws: ContentStoreError.self) { try await PostgresStorage.open(url: url, readOnly: readOnly) }
            #expect(error?.message.contains("newer wasmrpc (migration 999") == true, "\(String(describing: error))")
        }
    }

    @Test func aReadOnlyOpenRefusesADatabaseWithoutTheSchema() async throws {
        let url = try await TestDatabase.create()
        let error = await #expect(throws: ContentStoreError.self) { try await PostgresStorage.open(url: url, readOnly: true) }
        #expect(error?.message.contains("not applied") == true, "\(String(describing: error))")
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let store = try await ContentStore.open(
            engine: try await PostgresStorage.open(url: url), log: LogIdentity.load(directory: directory.path, origin: "test", encodedKey: nil))
        #expect(try await store.logSize() == 0)
        _ = try await PostgresStorage.open(url: url, readOnly: true)
    }
}

/// Database URLs, checked without a database.
struct PostgresLocationTests {
    @Test func urlsAreCheckedAndPasswordsNeverShown() throws {
        let location = try PostgresLocation(url: "postgresql://user:se%2Fcret@db.example:6543/wasm%20rpc?sslmode=require")
        #expect((location.user, location.password, location.host, location.port, location.database) == ("user", "se/cret", "db.example", 6543, "wasm rpc"))
        #expect(location.tls == .require)
        #expect(!location.description.contains("se/cret") && !location.description.contains("cret"))
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h/", "postgres://u@h/d?sslmode=maybe", "postgres://u@h/d?x=1"] {
            #expect(throws: ContentStoreError.self, "\(bad)") { try PostgresLocation(url: bad) }
        }
        #expect(PostgresLocation.redacted("postgres://u:pw@h/d") == "postgres://u:***@h/d")
    }
}
