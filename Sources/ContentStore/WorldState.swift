import TransparencyLog
import WasmRPCCore

/// One key of a module's world state and its value.
public struct StateEntry: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// The last write of one key in a transaction: a value, or nil for a delete.
public struct StateWrite: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]?

    public init(key: [UInt8], value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// How much state a module holds: keys, and bytes of keys and values together.
public struct StateUsage: Sendable, Hashable {
    public var keys: Int64
    public var bytes: Int64

    public init(keys: Int64 = 0, bytes: Int64 = 0) {
        self.keys = keys
        self.bytes = bytes
    }

    /// The usage after `writes`, given each written key's value before them (`before[i]` for
    /// `writes[i]`).
    func applying(_ writes: [StateWrite], before: [[UInt8]?]) -> StateUsage {
        var usage = self
        for (write, old) in zip(writes, before) {
            if let old {
                usage.keys -= 1
                usage.bytes -= Int64(write.key.count + old.count)
            }
            if let value = write.value {
                usage.keys += 1
                usage.bytes += Int64(write.key.count + value.count)
            }
        }
        return usage
    }
}

/// A committed state-changing call, as the store keeps it (docs/CHAINCODE.md). `readSet` and
/// `writeSet` are the serialized `wasmrpc.v1.ReadSet` and `WriteSet`, the bytes the leaf's
/// digests cover.
public struct TransactionRecord: Sendable, Hashable {
    public var module: ModuleID
    /// The module's transactions are numbered 1, 2, … in commit order.
    public var sequence: Int64
    /// `/package.Service/Method`.
    public var method: String
    public var input: [UInt8]
    public var output: [UInt8]
    public var readSet: [UInt8]
    public var writeSet: [UInt8]
    /// What the call's clock read, in nanoseconds since 1970.
    public var timeNanoseconds: Int64
    /// 16 bytes drawn for the call (its random bytes derive from them).
    public var nonce: [UInt8]
    /// Its leaf in the log.
    public var leafIndex: Int64

    public init(
        module: ModuleID, sequence: Int64, method: String, input: [UInt8], output: [UInt8], readSet: [UInt8], writeSet: [UInt8],
        timeNanoseconds: Int64, nonce: [UInt8], leafIndex: Int64
    ) {
        self.module = module
        self.sequence = sequence
        self.method = method
        self.input = input
        self.output = output
        self.readSet = readSet
        self.writeSet = writeSet
        self.timeNanoseconds = timeNanoseconds
        self.nonce = nonce
        self.leafIndex = leafIndex
    }

    /// The log leaf that records this transaction.
    public var logEntry: TransactionLogEntry {
        TransactionLogEntry(
            module: module.hex, sequence: sequence, method: method, input: input, output: output, reads: readSet, writes: writeSet,
            timeNanoseconds: timeNanoseconds, nonce: nonce)
    }

    /// The hex SHA-256 of its leaf.
    public var id: String { logEntry.id }
}

/// Committed state read at once, for a guest that is running: the calls block the thread running
/// the guest (a worker's, or for a short query the thread that received the call, see the
/// runtime's inline calls), so they must be short. Each call sees committed data.
public protocol StateReader: Sendable {
    /// The value of `key` in the state of `owner`, or nil.
    func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]?
    /// The first `limit` entries with `start <= key < end` (empty `end`: no bound), in key order.
    func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry]
}

/// State writes that the engine does not hold yet, over a base that it does (`StateView`).
public typealias StateOverlay = [[UInt8]: [UInt8]?]

/// Reading through an overlay of writes not in the base yet: one key, or a range whose base part
/// comes from `base(limit)` (the base's first `limit` entries of the range).
public enum StateView {
    /// Whether `key` lies in `start..<end` (empty `end`: no bound).
    public static func contains(_ key: [UInt8], start: [UInt8], end: [UInt8]) -> Bool {
        !key.lexicographicallyPrecedes(start) && (end.isEmpty || key.lexicographicallyPrecedes(end))
    }

    /// The first `limit` entries of `start..<end` in the base with `overlay` written over it. The
    /// base is asked once, for as many entries as can matter: `limit` plus the overlay's keys in
    /// the range (each may hide one), so the answer is exact.
    public static func range<E: Error>(
        start: [UInt8], end: [UInt8], limit: Int, overlay: StateOverlay, base: (_ limit: Int) throws(E) -> [StateEntry]
    ) throws(E) -> [StateEntry] {
        let written = overlay.filter { contains($0.key, start: start, end: end) }
        return merge(try base(limit + written.count), written: written, limit: limit)
    }

    /// `range` for a base read asynchronously.
    public static func range<E: Error>(
        start: [UInt8], end: [UInt8], limit: Int, overlay: StateOverlay, base: (_ limit: Int) async throws(E) -> [StateEntry]
    ) async throws(E) -> [StateEntry] {
        let written = overlay.filter { contains($0.key, start: start, end: end) }
        return merge(try await base(limit + written.count), written: written, limit: limit)
    }

    /// The first `limit` entries of `fromBase` (the base's first `limit + written.count` entries
    /// of a range) with `written` (the overlay's writes in that range) over them.
    private static func merge(_ fromBase: [StateEntry], written: StateOverlay, limit: Int) -> [StateEntry] {
        if written.isEmpty { return Array(fromBase.prefix(limit)) }
        let baseFull = fromBase.count == limit + written.count
        var merged = fromBase.filter { written[$0.key] == nil }
        for (key, value) in written {
            guard let value else { continue }
            // Past the last base entry of a full page, the base is not known: leave it out.
            if baseFull, let last = fromBase.last?.key, last.lexicographicallyPrecedes(key) { continue }
            merged.append(StateEntry(key: key, value: value))
        }
        merged.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return Array(merged.prefix(limit))
    }
}

extension Dictionary where Key == [UInt8], Value == [UInt8]? {
    /// The writes of an overlay, one per key, in key order.
    public var writes: [StateWrite] {
        map { StateWrite(key: $0.key, value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }
}

extension Array where Element == StateWrite {
    /// The overlay these writes make.
    public var overlay: StateOverlay {
        var overlay: StateOverlay = [:]
        for write in self { overlay[write.key] = .some(write.value) }
        return overlay
    }
}
