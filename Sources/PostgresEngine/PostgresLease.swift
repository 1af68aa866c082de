import ContentStore
import Synchronization

/// A lease of a pool connection that may come too late: either the body begins (`begin`) or
/// the wait expires (`expire`), never both.
final class Lease: Sendable {
    private enum State { case waiting, begun, expired }
    private let state = Mutex(State.waiting)

    /// Whether the body may run (the wait had not expired); it then cannot expire.
    func begin() -> Bool { transition(to: .begun) }
    /// Whether the wait expired (the body had not begun); it then cannot begin.
    func expire() -> Bool { transition(to: .expired) }

    private func transition(to new: State) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = new
            return true
        }
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
