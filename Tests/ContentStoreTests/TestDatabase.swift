import Foundation
import Logging
import NIOPosix
import PostgresNIO
@testable import ContentStore
@testable import PostgresEngine

/// PostgreSQL for the storage tests: `WASMRPC_TEST_POSTGRES` is the URL of a server's maintenance
/// database (`scripts/postgres.sh start DIR` prints one; `.ci/run` sets it), and each test gets a
/// new database of its own there. Without it the tests run on the other engines only, unless
/// `WASMRPC_REQUIRE_POSTGRES=1` (`.ci/run`) makes that a failure.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["WASMRPC_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static let required = ProcessInfo.processInfo.environment["WASMRPC_REQUIRE_POSTGRES"] == "1"

    /// The URL of a new, empty database.
    static func create() async throws -> String {
        guard let url else { throw ContentStoreError(.storage, "WASMRPC_TEST_POSTGRES is not set") }
        let name = "wasmrpc_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute("CREATE DATABASE \(name)", in: url)
        var location = try PostgresLocation(url: url)
        location.database = name
        return location.description
    }

    /// Runs `sql` in the database at `url`.
    static func execute(_ sql: String, in url: String) async throws {
        let location = try PostgresLocation(url: url)
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: try location.connectionTLS())
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: Logger(label: "test"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test"))
        } catch {
            try? await connection.close()
            throw ContentStoreError(.storage, "\(sql): \(PostgresStorage.describe(error))")
        }
        try await connection.close()
    }
}
