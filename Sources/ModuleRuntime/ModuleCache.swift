import ContentStore
import Synchronization
import WasmRPCCore

/// A bounded map from module id to something derived from the module, evicting the least recently
/// used entries when full. Each value costs `cost(value)` (1 by default, so the capacity is a
/// count; a byte count for values weighed in bytes); a value that alone costs more than the
/// capacity is not kept. Values are immutable, so two threads that miss at once may both build
/// one; the first stored wins and both callers get it.
public final class ModuleCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var lastUse: UInt64
        var cost: Int
    }

    private struct State {
        var entries: [ModuleID: Entry] = [:]
        var clock: UInt64 = 0
        var total = 0
    }

    public let capacity: Int
    private let cost: @Sendable (Value) -> Int
    private let state = Mutex(State())

    public init(capacity: Int, cost: @escaping @Sendable (Value) -> Int = { _ in 1 }) {
        self.capacity = max(1, capacity)
        self.cost = cost
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// The cost of the entries kept (their count, with the default cost).
    public var totalCost: Int { state.withLock { $0.total } }

    public func value(_ id: ModuleID) -> Value? {
        state.withLock { state in
            guard state.entries[id] != nil else { return nil }
            state.clock += 1
            state.entries[id]?.lastUse = state.clock
            return state.entries[id]?.value
        }
    }

    /// The entry for `id`, without counting it as a use.
    public func peek(_ id: ModuleID) -> Value? {
        state.withLock { $0.entries[id]?.value }
    }

    /// Stores `value` unless an entry exists, and returns the stored one.
    @discardableResult
    public func insert(_ value: Value, for id: ModuleID) -> Value {
        let cost = max(0, cost(value))
        return state.withLock { state in
            state.clock += 1
            if let existing = state.entries[id] {
                state.entries[id]?.lastUse = state.clock
                return existing.value
            }
            guard cost <= capacity else { return value }
            while state.total + cost > capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries[oldest.key] = nil
                state.total -= oldest.value.cost
            }
            state.entries[id] = Entry(value: value, lastUse: state.clock, cost: cost)
            state.total += cost
            return value
        }
    }
}
