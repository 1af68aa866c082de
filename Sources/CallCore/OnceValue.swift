import Synchronization

/// A value set once (possibly to nil) and awaited by any number of callers; a waiter whose task
/// is cancelled stops waiting.
package final class OnceValue<Value: Sendable>: Sendable {
    private struct State {
        var result: Value??
        var waiters: [UInt64: CheckedContinuation<Value?, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Sets the value; later calls are ignored.
    package func set(_ value: Value?) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, any Error>] in
            guard state.result == nil else { return [] }
            state.result = .some(value)
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, once set; throws `CancellationError` if the waiting task is cancelled first.
    package var value: Value? {
        get async throws {
            let id = state.withLock { state in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let result = state.withLock { state -> Result<Value?, any Error>? in
                        if let result = state.result { return .success(result) }
                        // The cancellation handler may have run before this waiter was registered.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.waiters[id] = continuation
                        return nil
                    }
                    if let result { continuation.resume(with: result) }
                }
            } onCancel: {
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
            }
        }
    }
}
