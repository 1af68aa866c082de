import Synchronization
import WasmRPCCore

/// That a module's transaction was recorded with a client's idempotency key (docs/CHAINCODE.md,
/// "Exactly-once calls"). Kept beside the ledger, not in it: a key is the client's handle for
/// retrying, not part of what the transaction did, and it is forgotten after the retention time.
public struct IdempotencyRecord: Sendable, Hashable {
    public var module: ModuleID
    public var key: IdempotencyKey
    /// The id of the transaction the key names.
    public var transaction: String
    /// When it was recorded (the transaction's commit), in milliseconds since 1970.
    public var timeMilliseconds: Int64

    /// How long a key is honoured unless the server is told otherwise: a day.
    public static let defaultRetention: Duration = .seconds(24 * 3600)

    public init(module: ModuleID, key: IdempotencyKey, transaction: String, timeMilliseconds: Int64) {
        self.module = module
        self.key = key
        self.transaction = transaction
        self.timeMilliseconds = timeMilliseconds
    }
}

extension ContentStore {
    /// The transaction of `module` that idempotency key `key` names, if it was recorded within
    /// `retention` of now.
    public func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, retention: Duration) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        let since = Self.nowMilliseconds() - retention.milliseconds
        return try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.transaction(of: module, idempotencyKey: key, since: since)
        }
    }
}

/// When a store last forgot expired idempotency keys: a commit forgets at most `batch` of them,
/// inside its own storage transaction, at most once a `interval` — or at the next commit again
/// while the last one left some (a long pause, a shorter retention), so that no commit holds the
/// write lock for long.
final class IdempotencyPruning: Sendable {
    private let last = Mutex<Int64>(0)
    static let interval: Int64 = 60_000
    static let batch = 1_000

    /// A commit forgot `count` keys of at most `limit`: all of them means some may be left.
    func forgot(_ count: Int, of limit: Int) {
        if count >= limit { last.withLock { $0 = 0 } }
    }

    /// Whether a commit at `now` (milliseconds) should forget expired keys; it then counts as done.
    func due(at now: Int64) -> Bool {
        last.withLock { last in
            guard now - last >= Self.interval else { return false }
            last = now
            return true
        }
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
