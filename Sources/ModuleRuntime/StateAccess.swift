import ContentStore
import Foundation
import SwiftProtobuf
import WapcHost
import WasmRPCCore
import WasmRPCProto

/// Limits on modules' world state (docs/CHAINCODE.md); `serve` flags set them.
public struct StateLimits: Sendable {
    /// The longest key, in bytes (keys are 1 byte at least).
    public var maxKeyBytes = 1_024
    /// The largest value, in bytes.
    public var maxValueBytes = 1 << 20
    /// Keys one transaction may write (put or delete).
    public var maxWritesPerTransaction = 1_000
    /// State one module may hold: keys and values, in bytes.
    public var maxStateBytes: Int64 = 64 << 20
    /// How long a transaction keeps running again because what it read changed before it could
    /// commit (its deadline may end it sooner), waiting a jittered back-off between attempts; then
    /// it fails as ABORTED, having committed nothing.
    public var conflictRetry: Duration = .seconds(10)
    /// How long a transaction's idempotency key is honoured: a retry with the key within it
    /// answers the transaction instead of running again. Older keys are forgotten.
    public var idempotencyRetention = IdempotencyRecord.defaultRetention
    /// Transactions committed together at most (one storage transaction, one checkpoint).
    public var maxBatch = 256

    public init() {}
}

/// What one call does with its module's state: the `CallContext.capability` value the state
/// capability finds. Used by the one thread running the call.
final class StateAccess: @unchecked Sendable {
    enum Mode {
        /// A NO_SIDE_EFFECTS method: reads committed state, cannot write.
        case query
        /// A transaction: reads committed state and the writes of the module's transactions that
        /// wait for commit (`pending`), and its own writes.
        case transaction
    }

    let mode: Mode
    let module: ModuleID
    let method: MethodPath
    let reader: any StateReader
    let pending: StateOverlay
    let limits: StateLimits
    /// What it read of committed (and pending) state, as read (`reads` records it with digests),
    /// and the keys read.
    private var keyReads: [(key: [UInt8], value: [UInt8]?)] = []
    private var rangeReads: [(start: [UInt8], end: [UInt8], limit: Int, entries: [StateEntry])] = []
    private var readKeys: Set<[UInt8]> = []
    /// Its own writes.
    private(set) var writes: StateOverlay = [:]
    /// A limit it broke: the call fails with this whatever the guest does next.
    private(set) var failure: ModuleRuntimeError?

    init(mode: Mode, module: ModuleID, method: MethodPath, reader: any StateReader, pending: StateOverlay = [:], limits: StateLimits) {
        self.mode = mode
        self.module = module
        self.method = method
        self.reader = reader
        self.pending = pending
        self.limits = limits
    }

    /// Stands for calls of a module not known to use state: any state operation ends the call,
    /// which then runs again as a transaction.
    static let undecided = Undecided()
    final class Undecided: Sendable {}

    /// Its writes, one per key, in key order.
    var writeList: [StateWrite] { writes.writes }

    /// Whether it read anything.
    var didRead: Bool { readCount > 0 }

    /// How many reads it made: keys (each once) and ranges.
    var readCount: Int { keyReads.count + rangeReads.count }

    /// What it read, as a transaction's record keeps it: values by their SHA-256.
    var reads: Wasmrpc_V1_ReadSet {
        var set = Wasmrpc_V1_ReadSet()
        set.keys = keyReads.map { Wasmrpc_V1_KeyRead(key: $0.key, value: $0.value) }
        set.ranges = rangeReads.map { Wasmrpc_V1_RangeRead(start: $0.start, end: $0.end, limit: $0.limit, entries: $0.entries) }
        return set
    }

    // MARK: - Operations

    /// The value of `key` (nil: none): its own write, else what was there before the call.
    func value(of key: [UInt8]) throws(HostCallFailure) -> [UInt8]? {
        try check(key: key)
        if let written = writes[key] { return written }
        return try committed(key)
    }

    func put(_ request: Wasmrpc_Guest_V1_PutRequest) throws(HostCallFailure) {
        let key = Array(request.key)
        try checkWrite(key: key)
        guard request.value.count <= limits.maxValueBytes else {
            throw fail("a value of \(request.value.count) bytes exceeds the limit of \(limits.maxValueBytes) bytes")
        }
        writes[key] = .some(Array(request.value))
    }

    func delete(_ request: Wasmrpc_Guest_V1_DeleteRequest) throws(HostCallFailure) {
        let key = Array(request.key)
        try checkWrite(key: key)
        writes[key] = .some(nil)
    }

    func range(_ request: Wasmrpc_Guest_V1_RangeRequest) throws(HostCallFailure) -> Wasmrpc_Guest_V1_RangeResponse {
        let (start, end) = (Array(request.startKey), Array(request.endKey))
        guard start.count <= limits.maxKeyBytes, end.count <= limits.maxKeyBytes else {
            throw HostCallFailure("range keys are at most \(limits.maxKeyBytes) bytes")
        }
        let limit = Int(request.limit == 0 ? 100 : min(request.limit, 1_000))
        // One more than asked, to tell whether there are more.
        let entries = try StateView.range(start: start, end: end, limit: limit + 1, overlay: writes) {
            (count) throws(HostCallFailure) in try committedRange(start: start, end: end, limit: count)
        }
        var response = Wasmrpc_Guest_V1_RangeResponse()
        response.entries = entries.prefix(limit).map { entry in
            var pair = Wasmrpc_Guest_V1_KeyValue()
            pair.key = Data(entry.key)
            pair.value = Data(entry.value)
            return pair
        }
        response.more = entries.count > limit
        return response
    }

    // MARK: - Committed state

    /// The value of `key` before this call: pending, else committed; recorded in the read set.
    private func committed(_ key: [UInt8]) throws(HostCallFailure) -> [UInt8]? {
        let value: [UInt8]?
        if let waiting = pending[key] {
            value = waiting
        } else {
            value = try reading { () throws(ContentStoreError) in try reader.value(module, key: key) }
        }
        if readKeys.insert(key).inserted { keyReads.append((key, value)) }
        return value
    }

    /// The first `limit` entries of a range before this call; recorded in the read set.
    private func committedRange(start: [UInt8], end: [UInt8], limit: Int) throws(HostCallFailure) -> [StateEntry] {
        let entries = try StateView.range(start: start, end: end, limit: limit, overlay: pending) { (count) throws(HostCallFailure) in
            try reading { () throws(ContentStoreError) in try reader.range(module, start: start, end: end, limit: count) }
        }
        rangeReads.append((start, end, limit, entries))
        return entries
    }

    private func reading<T>(_ body: () throws(ContentStoreError) -> T) throws(HostCallFailure) -> T {
        do {
            return try body()
        } catch {
            // The store failed: the call cannot be trusted to have seen the state, so it ends.
            failure = ModuleRuntimeError(.unavailable, error.message, cause: error)
            throw HostCallFailure("the world state could not be read: \(error.message)", endsCall: true)
        }
    }

    /// Whether what it read is still so (a query that read more than once might have read
    /// across a commit).
    func readsStillHold() throws(ContentStoreError) -> Bool {
        for read in keyReads where try reader.value(module, key: read.key) != read.value { return false }
        for range in rangeReads where try reader.range(module, start: range.start, end: range.end, limit: range.limit) != range.entries {
            return false
        }
        return true
    }

    // MARK: - Checks

    private func check(key: [UInt8]) throws(HostCallFailure) {
        guard !key.isEmpty else { throw HostCallFailure("a state key cannot be empty") }
        guard key.count <= limits.maxKeyBytes else {
            throw fail("a key of \(key.count) bytes exceeds the limit of \(limits.maxKeyBytes) bytes")
        }
    }

    private func checkWrite(key: [UInt8]) throws(HostCallFailure) {
        guard mode == .transaction else {
            throw HostCallFailure("\(method) is a query (idempotency_level = NO_SIDE_EFFECTS): it cannot write state")
        }
        try check(key: key)
        guard writes[key] != nil || writes.count < limits.maxWritesPerTransaction else {
            throw fail("a transaction writes at most \(limits.maxWritesPerTransaction) keys")
        }
    }

    /// A broken limit: the guest gets the error, and the call fails with it as RESOURCE_EXHAUSTED.
    private func fail(_ message: String) -> HostCallFailure {
        if failure == nil { failure = ModuleRuntimeError(.limitExceeded, "state limit: \(message)") }
        return HostCallFailure(message)
    }
}

/// `wasmrpc`/`state`: the world state of the calling module (proto/wasmrpc/guest/v1/state.proto).
struct StateCapability: HostCapability {
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        guard let access = call.context as? StateAccess else {
            if call.context is StateAccess.Undecided {
                throw HostCallFailure("the module uses state: the call runs again as a transaction", endsCall: true)
            }
            throw HostCallFailure("this host has no world state (state is kept only by a wasmrpc server)")
        }
        do {
            switch call.operation {
            case "get":
                if let key = Self.onlyKey(of: call.payload) { return Self.encodeGetResponse(try access.value(of: key)) }
                let request = try Wasmrpc_Guest_V1_GetRequest(serializedBytes: call.payload)
                return Self.encodeGetResponse(try access.value(of: Array(request.key)))
            case "put":
                try access.put(Wasmrpc_Guest_V1_PutRequest(serializedBytes: call.payload))
                return []
            case "delete":
                try access.delete(Wasmrpc_Guest_V1_DeleteRequest(serializedBytes: call.payload))
                return []
            case "range":
                return try encode(access.range(Wasmrpc_Guest_V1_RangeRequest(serializedBytes: call.payload)))
            default:
                throw HostCallFailure("the state capability has no operation \"\(call.operation)\" (get, put, delete, range)")
            }
        } catch let failure as HostCallFailure {
            throw failure
        } catch {
            throw HostCallFailure("the \(call.operation) request is not a valid wasmrpc.guest.v1 message: \(error)")
        }
    }

    /// The key of a GetRequest that holds field 1 only (as guests write it), without decoding it
    /// in full; nil for any other shape.
    static func onlyKey(of payload: [UInt8]) -> [UInt8]? {
        guard payload.count >= 2, payload[0] == 0x0A else { return nil }
        // Keys are at most a few KiB: a length of at most 3 varint bytes.
        var length = 0
        for index in 1..<min(payload.count, 4) {
            length |= Int(payload[index] & 0x7F) << (7 * (index - 1))
            if payload[index] & 0x80 == 0 {
                return index + 1 + length == payload.count ? Array(payload[(index + 1)...]) : nil
            }
        }
        return nil
    }

    /// A GetResponse's deterministic encoding: `found` (field 1) and a non-empty `value` (field 2).
    static func encodeGetResponse(_ value: [UInt8]?) -> [UInt8] {
        guard let value else { return [] }
        var bytes: [UInt8] = [0x08, 0x01]
        guard !value.isEmpty else { return bytes }
        bytes.reserveCapacity(value.count + 8)
        bytes.append(0x12)
        var length = UInt(value.count)
        while length >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        bytes.append(UInt8(length))
        bytes.append(contentsOf: value)
        return bytes
    }

    private func encode(_ message: some SwiftProtobuf.Message) throws(HostCallFailure) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw HostCallFailure("cannot encode the answer: \(error)")
        }
    }
}
