import ContentStore
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

    /// The migrations, in order: (version, name, statements), each from its file of `Schema/`
    /// (the schema is written there, once). A database records the versions it has in
    /// `wasmrpc_migration`.
    static let migrations: [(version: Int64, name: String, sql: [String])] = [
        (1, "initial", statements(PackageResources.initial_sql)),
        (2, "exactly-once", statements(PackageResources.exactly_once_sql)),
    ]

    /// The statements of a schema file: separated by a `;` that ends a line.
    static func statements(_ file: [UInt8]) -> [String] {
        String(decoding: file, as: UTF8.self).components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { statement in statement.split(separator: "\n").contains { !$0.hasPrefix("--") && !$0.allSatisfy(\.isWhitespace) } }
    }

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
    public func changes(every interval: Duration = .seconds(5)) -> AsyncStream<Void>? {
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

    /// Other servers may share the database.
    public var isShared: Bool { true }

    /// One statement, outside write transactions (it needs no lock: a claim only decides which
    /// transactions commit, and they read it under the write lock).
    public func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState {
        let now = PostgresAccess.databaseNow
        let access = PostgresAccess(storage: self, connection: nil)
        let rows = try await access.rows("claim module \(claim.module)") {
            """
            INSERT INTO module_claim AS held (module, owner, until)
            VALUES (\(claim.module.hex), \(claim.owner), \(unescaped: now) + \(max(1, duration.milliseconds)))
            ON CONFLICT (module) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
            WHERE held.owner = EXCLUDED.owner OR held.until <= \(unescaped: now) OR held.until > \(unescaped: now) + \(ModuleClaim.longest.milliseconds)
            RETURNING owner, until - \(unescaped: now) AS remaining
            """
        }
        if let row = rows.first { return try Self.claimState(access, row) }
        // Another owner's claim is in force.
        let held = try await access.rows("read the claim on module \(claim.module)") {
            "SELECT owner, until - \(unescaped: now) AS remaining FROM module_claim WHERE module = \(claim.module.hex)"
        }
        guard let row = held.first else { return ClaimState(owner: "", remaining: .zero) }
        return try Self.claimState(access, row)
    }

    private static func claimState(_ access: PostgresAccess, _ row: PostgresRow) throws(ContentStoreError) -> ClaimState {
        let columns = access.columns(row)
        let remaining = try access.column("remaining", of: columns, as: Int64.self)
        return ClaimState(owner: try access.column("owner", of: columns, as: String.self), remaining: .milliseconds(max(0, remaining)))
    }

    public func release(_ claim: ModuleClaim) async throws(ContentStoreError) {
        _ = try await PostgresAccess(storage: self, connection: nil).rows("release the claim on module \(claim.module)") {
            "DELETE FROM module_claim WHERE module = \(claim.module.hex) AND owner = \(claim.owner)"
        }
    }

    /// How long an operation waits for a connection from the pool (the database is down, or every
    /// connection is busy) before it fails with `storage`, which a caller sees as UNAVAILABLE.
    public static let leaseTimeout: Duration = .seconds(5)

    /// Runs `body` on a connection of the pool, failing if none is had within `leaseTimeout`;
    /// once it has one, `body` runs to its end. Exactly one of the two happens: a connection
    /// that comes after the failure was reported is handed back unused, so a write reported as
    /// failed never runs later.
    func withConnection<T: Sendable>(
        _ what: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws(ContentStoreError) -> T {
        let lease = Lease()
        do {
            return try await withoutActuallyEscaping(body) { body in
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask { [client] in
                        try await client.withConnection { connection in
                            guard lease.begin() else { throw CancellationError() }
                            return try await body(connection)
                        }
                    }
                    group.addTask {
                        // A cancelled caller needs no timer: the pool gives up the lease request
                        // with its task (postgres-nio cancels a waiting lease).
                        try? await Task.sleep(for: Self.leaseTimeout)
                        guard !Task.isCancelled, lease.expire() else { return nil }
                        let seconds = Self.leaseTimeout.components.seconds
                        throw ContentStoreError(.storage, "no connection to the database within \(seconds) s")
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
                let now = ContentStore.nowMilliseconds()
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
