import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import TransparencyLog
import WasmRPCCore

/// The network engine: everything in one PostgreSQL database, through postgres-nio — module bytes
/// (`module_blob`, bytea, re-hashed on every read), the module index, the log's leaves, subtree
/// hashes and checkpoints, and the world state with its transactions, in the tables and columns
/// `SQLiteStorage` uses (bigint for integers, bytea for bytes).
///
/// Any number of processes may use one database. A write transaction is PostgreSQL's (`BEGIN` …
/// `COMMIT`) and takes the transaction-scoped advisory lock `writeLock` first, so write
/// transactions run one at a time whichever process starts them: the log is appended by one
/// writer at a time and never forks, and `module.seq` grows in commit order. Reads are single
/// statements, each seeing committed data.
///
/// The schema is versioned (`wasmrpc_migration`): `open` applies the missing migrations in one
/// transaction under the same lock, and refuses a database a newer wasmrpc migrated. Connections
/// come from postgres-nio's pool, on an event loop of the engine's own, so that a guest's state
/// read, which waits for its answer on the thread running the guest (`PostgresStateReader`), never
/// waits on the loop that would deliver it.
public final class PostgresStorage: StorageEngine {
    public let isReadOnly: Bool
    /// The database's URL without its password.
    public let location: String
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    /// Ends when `running` has begun (postgres-nio warns of a lease before its `run()`).
    private let started: AsyncStream<Void>
    private let directStateReader: PostgresStateReader

    public var blobs: any BlobStorage { PostgresBlobs(storage: self) }
    public var reads: any StorageReads { PostgresAccess(storage: self, connection: nil) }
    public var stateReader: any StateReader { directStateReader }
    /// Its calls suspend on the network; nothing blocks.
    public var executor: (any TaskExecutor)? { nil }

    /// The event loop of every engine's connections: one thread, apart from the server's loops.
    private static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// The key of the advisory lock every write transaction holds (`pg_advisory_xact_lock`).
    public static let writeLock: Int64 = 0x7761_736D_7270_6301  // "wasmrpc" and 1

    /// The migrations, in order: (version, name, statements). A database records the versions it
    /// has in `wasmrpc_migration`.
    static let migrations: [(version: Int64, name: String, sql: [String])] = [
        (
            1, "initial",
            [
                "CREATE TABLE module_blob (id text PRIMARY KEY, bytes bytea NOT NULL)",
                """
                CREATE TABLE module (
                    seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, name text NOT NULL, size bigint NOT NULL,
                    descriptor bytea NOT NULL, functions text NOT NULL, added bigint NOT NULL, leaf_index bigint NOT NULL,
                    signatures text)
                """,
                "CREATE TABLE log_leaf (idx bigint PRIMARY KEY, data bytea NOT NULL)",
                "CREATE TABLE log_node (level bigint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))",
                "CREATE TABLE log_checkpoint (size bigint PRIMARY KEY, note text NOT NULL)",
                "CREATE TABLE state (owner text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (owner, key))",
                "CREATE TABLE state_usage (owner text PRIMARY KEY, keys bigint NOT NULL, bytes bigint NOT NULL)",
                """
                CREATE TABLE ledger_transaction (
                    id text PRIMARY KEY, module text NOT NULL, sequence bigint NOT NULL, method text NOT NULL,
                    input bytea NOT NULL, output bytea NOT NULL, read_set bytea NOT NULL, write_set bytea NOT NULL,
                    time bigint NOT NULL, nonce bytea NOT NULL, leaf_index bigint NOT NULL, UNIQUE (module, sequence))
                """,
            ]
        )
    ]

    private init(location: PostgresLocation, readOnly: Bool, logger: Logger) {
        self.location = location.description
        isReadOnly = readOnly
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: location.clientTLS)
        configuration.options.connectTimeout = Self.leaseTimeout
        configuration.options.maximumConnections = 16
        let client = PostgresClient(configuration: configuration, eventLoopGroup: Self.eventLoops, backgroundLogger: logger)
        self.client = client
        let (started, starting) = AsyncStream<Void>.makeStream()
        running = Task {
            starting.finish()
            await client.run()
        }
        self.started = started
        directStateReader = PostgresStateReader(location: location, eventLoop: Self.eventLoops.next(), logger: logger)
    }

    deinit {
        running.cancel()
        directStateReader.close()
    }

    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, with
    /// `?sslmode=disable|prefer|require`; `postgresql://` too) and brings its schema up to date.
    /// With `readOnly` nothing is created or migrated: the schema must be this version's, and
    /// every write fails.
    public static func open(url: String, readOnly: Bool = false, logger: Logger = Logger(label: "wasmrpc.postgres"))
        async throws(ContentStoreError) -> PostgresStorage
    {
        let location = try PostgresLocation(url: url)
        let storage = PostgresStorage(location: location, readOnly: readOnly, logger: logger)
        for await _ in storage.started {}
        try await storage.migrate(apply: !readOnly)
        return storage
    }

    /// The channel each Add's transaction notifies (`pg_notify`, delivered on commit) with the new
    /// module's id.
    public static let moduleChannel = "wasmrpc_module"

    /// Signals that modules may have been added by other servers: once at the start, at each
    /// notification on `moduleChannel`, each time listening starts again after the connection was
    /// lost, and every `interval` in case a notification was missed. Signals that come while the
    /// consumer is busy are merged into one. It ends when the consumer stops iterating.
    public func moduleAdditions(every interval: Duration = .seconds(5)) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (client, logger, location) = (client, logger, location)
        let listener = Task {
            // Said once per outage, not once per retry.
            let failing = Flag()
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.moduleChannel) { notifications in
                            // Listening now: what came before is read by the consumer's catch-up.
                            if failing.isSet {
                                failing.clear()
                                logger.notice("listening for other servers' modules again", metadata: ["database": "\(location)"])
                            }
                            continuation.yield()
                            for try await _ in notifications { continuation.yield() }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    if !failing.isSet {
                        failing.set()
                        logger.warning(
                            "cannot listen for other servers' modules; retrying every second",
                            metadata: ["database": "\(location)", "error": "\(Self.describe(error))"])
                    }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let ticker = Task {
            while !Task.isCancelled {
                continuation.yield()
                try? await Task.sleep(for: interval)
            }
        }
        continuation.onTermination = { _ in
            listener.cancel()
            ticker.cancel()
        }
        return stream
    }

    /// Closes the pool's and the state reader's connections; the engine fails every call after.
    public func close() {
        running.cancel()
        directStateReader.close()
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any StorageTransaction) async throws(ContentStoreError) -> T)
        async throws(ContentStoreError) -> T
    {
        guard !isReadOnly else { throw ContentStoreError(.storage, "\(location) is open read-only") }
        return try await writeTransaction("run a transaction") { connection throws(ContentStoreError) in
            try await body(PostgresAccess(storage: self, connection: connection))
        }
    }

    /// How long an operation waits for a connection from the pool (the database is down, or every
    /// connection is busy) before it fails with `storage`, which a caller sees as UNAVAILABLE.
    public static let leaseTimeout: Duration = .seconds(5)

    /// Runs `body` on a connection of the pool, failing if none is had within `leaseTimeout`;
    /// once it has one, `body` runs to its end.
    func withConnection<T: Sendable>(
        _ what: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws(ContentStoreError) -> T {
        let leased = Flag()
        do {
            return try await withoutActuallyEscaping(body) { body in
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask { [client] in
                        try await client.withConnection { connection in
                            leased.set()
                            return try await body(connection)
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: Self.leaseTimeout)
                        guard leased.isSet else {
                            let seconds = Self.leaseTimeout.components.seconds
                            throw ContentStoreError(.storage, "no connection to the database within \(seconds) s")
                        }
                        return nil
                    }
                    while let result = try await group.next() {
                        if let result {
                            group.cancelAll()
                            return result
                        }
                    }
                    throw CancellationError()
                }
            }
        } catch {
            throw Self.storageError(error, what: what, location: location)
        }
    }

    /// Runs `body` in a transaction on one connection, holding the write lock.
    private func writeTransaction<T: Sendable>(
        _ what: String, _ body: @Sendable (PostgresConnection) async throws(ContentStoreError) -> T
    ) async throws(ContentStoreError) -> T {
        // The body's own error, kept apart from postgres-nio's wrapping of it.
        let failure = Box<ContentStoreError?>(nil)
        do {
            return try await withConnection(what) { [logger] connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.writeLock))", logger: logger)
                    let result: T
                    do throws(ContentStoreError) {
                        result = try await body(connection)
                    } catch {
                        failure.value = error
                        throw error
                    }
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    // A failed ROLLBACK leaves a broken connection, which the pool replaces.
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch {
            throw failure.value ?? error
        }
    }

    /// Creates the migration table if needed, refuses a newer schema, and (with `apply`) applies
    /// the missing migrations in one transaction; without it, refuses a schema that misses any.
    private func migrate(apply: Bool) async throws(ContentStoreError) {
        if !apply {
            let applied = try await appliedMigrations(nil)
            try Self.check(applied: applied, complete: true)
            return
        }
        try await writeTransaction("migrate the schema") { connection throws(ContentStoreError) in
            try await run("create the migration table", on: connection) {
                "CREATE TABLE IF NOT EXISTS wasmrpc_migration (version bigint PRIMARY KEY, name text NOT NULL, applied bigint NOT NULL)"
            }
            let applied = try await appliedMigrations(connection)
            try Self.check(applied: applied, complete: false)
            for migration in Self.migrations where !applied.contains(migration.version) {
                for statement in migration.sql {
                    try await run("apply migration \(migration.version) (\(migration.name))", on: connection) {
                        PostgresQuery(unsafeSQL: statement)
                    }
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await run("record migration \(migration.version)", on: connection) {
                    "INSERT INTO wasmrpc_migration (version, name, applied) VALUES (\(migration.version), \(migration.name), \(now))"
                }
            }
        }
    }

    private func appliedMigrations(_ connection: PostgresConnection?) async throws(ContentStoreError) -> Set<Int64> {
        let access = PostgresAccess(storage: self, connection: connection)
        let exists = try await access.rows("read the schema version") { "SELECT to_regclass('wasmrpc_migration') IS NOT NULL" }
        guard try access.decode(exists.first, as: Bool.self) == true else { return [] }
        let rows = try await access.rows("read the schema version") { "SELECT version FROM wasmrpc_migration" }
        return Set(try rows.map { row throws(ContentStoreError) in try access.decode(row, as: Int64.self) })
    }

    private static func check(applied: Set<Int64>, complete: Bool) throws(ContentStoreError) {
        let known = Set(migrations.map(\.version))
        if let unknown = applied.subtracting(known).sorted().first {
            throw ContentStoreError(.storage, "the database was written by a newer wasmrpc (migration \(unknown) is unknown here)")
        }
        if complete, let missing = migrations.first(where: { !applied.contains($0.version) }) {
            throw ContentStoreError(
                .storage,
                "the database's schema is older than this wasmrpc (migration \(missing.version) not applied): `wasmrpc serve` on it migrates it")
        }
    }

    private func run(_ what: String, on connection: PostgresConnection, _ query: () -> PostgresQuery) async throws(ContentStoreError) {
        _ = try await PostgresAccess(storage: self, connection: connection).rows(what, query)
    }

    /// A storage error for a failure of postgres-nio, with the server's message when there is one
    /// (postgres-nio's own description hides it).
    static func storageError(_ error: any Error, what: String, location: String) -> ContentStoreError {
        if let error = error as? ContentStoreError { return error }
        return ContentStoreError(.storage, "cannot \(what) in \(location): \(describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let cause = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError { return describe(cause) }
        }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

/// A flag that tasks share.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
    func clear() { value.withLock { $0 = false } }
}

/// A value that tasks share.
final class Box<T: Sendable>: Sendable {
    private let storage: Mutex<T>
    init(_ value: T) { storage = Mutex(value) }
    var value: T {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// Where a PostgreSQL database is: parsed from a `postgres://` URL.
struct PostgresLocation: Sendable, CustomStringConvertible {
    enum TLSMode: String, Sendable { case disable, prefer, require }

    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var tls: TLSMode

    init(url: String) throws(ContentStoreError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw ContentStoreError(.invalidArgument, "\"\(Self.redacted(url))\" is not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        guard let host = components.host, !host.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no database") }
        self.host = host
        port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw ContentStoreError(.invalidArgument, "sslmode must be disable, prefer or require, not \"\(item.value ?? "")\"")
                }
                tls = mode
            default:
                throw ContentStoreError(.invalidArgument, "the database URL's parameter \"\(item.name)\" is not supported (only sslmode is)")
            }
        }
    }

    /// The URL without its password.
    var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls)")
    }

    var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    func connectionTLS() throws(ContentStoreError) -> PostgresConnection.Configuration.TLS {
        do {
            switch tls {
            case .disable: return .disable
            case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw ContentStoreError(.storage, "cannot set up TLS for \(description): \(error)")
        }
    }

    /// `url` with any password replaced by `***`, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "the database URL"
    }
}

/// Module bytes in the `module_blob` table, checked against their id on every read.
struct PostgresBlobs: BlobStorage {
    let storage: PostgresStorage

    @discardableResult
    func put(_ bytes: [UInt8]) async throws(ContentStoreError) -> ModuleID {
        let id = ModuleID(of: bytes)
        guard !storage.isReadOnly else { throw ContentStoreError(.storage, "\(storage.location) is open read-only") }
        if let stored = try? await self.bytes(of: id), stored == bytes { return id }
        let access = PostgresAccess(storage: storage, connection: nil)
        _ = try await access.rows("store module \(id)") {
            """
            INSERT INTO module_blob (id, bytes) VALUES (\(id.hex), \(ByteBuffer(bytes: bytes)))
            ON CONFLICT (id) DO UPDATE SET bytes = EXCLUDED.bytes
            """
        }
        return id
    }

    func bytes(of id: ModuleID) async throws(ContentStoreError) -> [UInt8] {
        let access = PostgresAccess(storage: storage, connection: nil)
        let rows = try await access.rows("read module \(id)") { "SELECT bytes FROM module_blob WHERE id = \(id.hex)" }
        guard let row = rows.first else { throw ContentStoreError(.notFound, "no blob \(id)") }
        let bytes = try access.bytes(row)
        guard ModuleID(of: bytes) == id else {
            throw ContentStoreError(.dataLoss, "the stored bytes of \(id) no longer hash to their id")
        }
        return bytes
    }
}
