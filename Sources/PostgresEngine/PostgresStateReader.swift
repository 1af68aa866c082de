import ContentStore
import Dispatch
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import WasmRPCCore

/// Reads the world state for guests' state operations on the thread that runs the guest, which
/// waits for the database's answer (up to `timeout`). Its connections are its own, outside the
/// engine's pool: postgres-nio's pool is async, and waiting for it from a thread would need a task
/// on Swift's cooperative pool, whose threads may be the ones waiting. These connections run on the
/// engine's event loop, never the caller's, and are kept in a free list, one caller at a time on
/// each; a broken one is dropped and the next read opens another.
final class PostgresStateReader: StateReader {
    private let location: PostgresLocation
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let idle = Mutex<(connections: [PostgresConnection], closed: Bool)>(([], false))
    /// Connections kept between reads.
    private static let keep = 8
    /// How long a read waits for the database.
    static let timeout: Duration = .seconds(10)

    init(location: PostgresLocation, eventLoop: any EventLoop, logger: Logger) {
        self.location = location
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? {
        let rows = try query("read the state of module \(owner)") {
            "SELECT value FROM state WHERE owner = \(owner.hex) AND key = \(ByteBuffer(bytes: key))"
        }
        guard let row = rows.first else { return nil }
        return try Self.bytes(row.decode(ByteBuffer.self))
    }

    func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] {
        let rows = try query("read the state of module \(owner)") { PostgresAccess.rangeQuery(owner, start: start, end: end, limit: limit) }
        return try rows.map { row throws(ContentStoreError) in
            do {
                let (key, value) = try row.decode((ByteBuffer, ByteBuffer).self)
                return StateEntry(key: Array(key.readableBytesView), value: Array(value.readableBytesView))
            } catch {
                throw ContentStoreError(.storage, "cannot read a state row: \(PostgresStorage.describe(error))")
            }
        }
    }

    /// Closes the idle connections; reads after this fail.
    func close() {
        let connections = idle.withLock { idle in
            idle.closed = true
            defer { idle.connections = [] }
            return idle.connections
        }
        for connection in connections { Self.discard(connection) }
    }

    private func query(_ what: String, _ query: () -> PostgresQuery) throws(ContentStoreError) -> [PostgresRow] {
        let query = query()
        let connection = try checkOut(what)
        do {
            let result = try wait(for: connection.query(query, logger: logger))
            checkIn(connection)
            return Array(result)
        } catch {
            // A connection whose read failed or timed out is not trusted with the next one.
            Self.discard(connection)
            throw PostgresStorage.storageError(error, what: what, location: location.description)
        }
    }

    private func checkOut(_ what: String) throws(ContentStoreError) -> PostgresConnection {
        let (reused, closed) = idle.withLock { idle in (idle.connections.popLast(), idle.closed) }
        guard !closed else { throw ContentStoreError(.storage, "cannot \(what): the store is closed") }
        if let reused, !reused.isClosed { return reused }
        do {
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: try location.connectionTLS())
            configuration.options.connectTimeout = .seconds(PostgresStorage.leaseTimeout.components.seconds)
            return try wait(for: PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 0, logger: logger))
        } catch {
            throw PostgresStorage.storageError(error, what: what, location: location.description)
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        let kept = idle.withLock { idle in
            guard !idle.closed, idle.connections.count < Self.keep else { return false }
            idle.connections.append(connection)
            return true
        }
        if !kept { Self.discard(connection) }
    }

    /// Closes `connection`, which stays alive until it is closed (postgres-nio asserts that).
    private static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Waits for `future` on this thread (which is never the engine's event loop), for at most
    /// `timeout`.
    private func wait<T: Sendable>(for future: EventLoopFuture<T>) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        future.whenComplete { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        let seconds = Self.timeout.components.seconds
        guard done.wait(timeout: .now() + .seconds(Int(seconds))) == .success, let outcome = result.withLock({ $0 }) else {
            throw ContentStoreError(.storage, "the database did not answer within \(seconds) s")
        }
        return try outcome.get()
    }

    private static func bytes(_ decode: @autoclosure () throws -> ByteBuffer) throws(ContentStoreError) -> [UInt8] {
        do {
            return Array(try decode().readableBytesView)
        } catch {
            throw ContentStoreError(.storage, "cannot read a state row: \(PostgresStorage.describe(error))")
        }
    }
}
