import ContentStore
import Synchronization

/// A bounded map from module id to something derived from the module, evicting the least recently
/// used entry when full. Values are immutable, so two threads that miss at once may both build one;
/// the first stored wins and both callers get it.
final class ModuleCache<Value: Sendable>: Sendable {
    private struct State {
        var entries: [ModuleID: (value: Value, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { state.withLock { $0.entries.count } }

    func value(_ id: ModuleID) -> Value? {
        state.withLock { state in
            guard let entry = state.entries[id] else { return nil }
            state.clock += 1
            state.entries[id] = (entry.value, state.clock)
            return entry.value
        }
    }

    /// The entry for `id`, without counting it as a use.
    func peek(_ id: ModuleID) -> Value? {
        state.withLock { $0.entries[id]?.value }
    }

    /// Stores `value` unless an entry exists, and returns the stored one.
    func insert(_ value: Value, for id: ModuleID) -> Value {
        state.withLock { state in
            state.clock += 1
            if let existing = state.entries[id] {
                state.entries[id] = (existing.value, state.clock)
                return existing.value
            }
            if state.entries.count >= capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                state.entries[oldest] = nil
            }
            state.entries[id] = (value, state.clock)
            return value
        }
    }
}
