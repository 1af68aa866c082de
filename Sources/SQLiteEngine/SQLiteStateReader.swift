import ContentStore
import Foundation
import GRDBSQLite
import Synchronization
import WasmRPCCore

/// Reads the world state for guests' state operations straight through SQLite's C API, on read-only
/// connections of its own to the engine's database, one per caller at a time (kept in a small
/// free list; a caller finding none opens one). A query reads the state once per operation on
/// whatever thread runs the guest, often an event loop: GRDB's pool would add a dispatch-queue
/// hop and its locks to each read, more than the read itself. Each read is its own implicit
/// transaction, as with GRDB's `unsafeRead`; WAL mode lets these readers run beside the writer.
final class SQLiteStateReader: StateReader {
    /// A connection with its prepared statements, used by one caller at a time (handed from one to
    /// the next through the free list's lock, hence `@unchecked Sendable`).
    private final class Connection: @unchecked Sendable {
        let handle: OpaquePointer
        let value: OpaquePointer
        let rangeFrom: OpaquePointer
        let rangeBetween: OpaquePointer

        init(path: String) throws(ContentStoreError) {
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
                let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
                sqlite3_close_v2(handle)
                throw ContentStoreError(.storage, "cannot open \(path) to read the world state: \(message)")
            }
            sqlite3_busy_timeout(handle, 5_000)
            func prepare(_ sql: String) throws(ContentStoreError) -> OpaquePointer {
                var statement: OpaquePointer?
                guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                    throw ContentStoreError(.storage, "cannot prepare a world state read: \(String(cString: sqlite3_errmsg(handle)))")
                }
                return statement
            }
            do {
                value = try prepare("SELECT value FROM state WHERE owner = ? AND key = ?")
                rangeFrom = try prepare("SELECT key, value FROM state WHERE owner = ? AND key >= ? ORDER BY key LIMIT ?")
                rangeBetween = try prepare("SELECT key, value FROM state WHERE owner = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?")
            } catch {
                sqlite3_close_v2(handle)
                throw error
            }
            self.handle = handle
        }

        deinit {
            for statement in [value, rangeFrom, rangeBetween] { sqlite3_finalize(statement) }
            sqlite3_close_v2(handle)
        }

        var error: ContentStoreError {
            ContentStoreError(.storage, "cannot read the world state: \(String(cString: sqlite3_errmsg(handle)))")
        }
    }

    private let path: String
    private let idle = Mutex<[Connection]>([])
    /// Connections kept between reads; more may be open while more callers read at once.
    private static let keptConnections = 8

    init(path: String) {
        self.path = path
    }

    func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? {
        try withConnection { connection throws(ContentStoreError) in
            let statement = connection.value
            defer { sqlite3_reset(statement) }
            try bind(owner, key, to: statement, connection)
            switch sqlite3_step(statement) {
            case SQLITE_ROW: return Self.blob(statement, column: 0)
            case SQLITE_DONE: return nil
            default: throw connection.error
            }
        }
    }

    func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] {
        try withConnection { connection throws(ContentStoreError) in
            let statement = end.isEmpty ? connection.rangeFrom : connection.rangeBetween
            defer { sqlite3_reset(statement) }
            try bind(owner, start, to: statement, connection)
            var next: Int32 = 3
            if !end.isEmpty {
                guard Self.bind(end, at: 3, of: statement) == SQLITE_OK else { throw connection.error }
                next = 4
            }
            guard sqlite3_bind_int64(statement, next, Int64(limit)) == SQLITE_OK else { throw connection.error }
            var entries: [StateEntry] = []
            while true {
                switch sqlite3_step(statement) {
                case SQLITE_ROW: entries.append(StateEntry(key: Self.blob(statement, column: 0), value: Self.blob(statement, column: 1)))
                case SQLITE_DONE: return entries
                default: throw connection.error
                }
            }
        }
    }

    private func bind(_ owner: ModuleID, _ key: [UInt8], to statement: OpaquePointer, _ connection: Connection) throws(ContentStoreError) {
        let bound = owner.hex.utf8CString.withUnsafeBufferPointer { text in
            sqlite3_bind_text(statement, 1, text.baseAddress, Int32(text.count - 1), Self.transient)
        }
        guard bound == SQLITE_OK, Self.bind(key, at: 2, of: statement) == SQLITE_OK else { throw connection.error }
    }

    /// Binds `bytes` as a blob (an empty one too: a zero-length blob, not NULL).
    private static func bind(_ bytes: [UInt8], at index: Int32, of statement: OpaquePointer) -> Int32 {
        bytes.withUnsafeBytes { buffer in
            sqlite3_bind_blob(statement, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), transient)
        }
    }

    private static func blob(_ statement: OpaquePointer, column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// SQLite copies what it binds (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func withConnection<T>(_ body: (Connection) throws(ContentStoreError) -> T) throws(ContentStoreError) -> T {
        let connection: Connection
        if let kept = idle.withLock({ $0.popLast() }) {
            connection = kept
        } else {
            connection = try Connection(path: path)
        }
        defer {
            idle.withLock { idle in
                if idle.count < Self.keptConnections { idle.append(connection) }
            }
        }
        return try body(connection)
    }
}
