import Dispatch
import Synchronization

/// Runs blocking work (file and SQLite I/O) on a dispatch thread, so that it never holds one of
/// Swift concurrency's few threads. Once started it runs to the end whatever happens to the
/// calling task: a transaction's COMMIT or ROLLBACK is never skipped by a cancellation.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(ContentStoreError) -> T) async throws(ContentStoreError) -> T {
    let result: Result<T, ContentStoreError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            do throws(ContentStoreError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}

/// A lock for async code that admits one holder at a time, in the order they asked; waiting is
/// not cancellable (a transaction that has asked runs, or fails, like any other).
final class TransactionLock: Sendable {
    private struct State {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Runs `body` while holding the lock.
    func withLock<T: Sendable>(_ body: () async throws(ContentStoreError) -> T) async throws(ContentStoreError) -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                if state.held {
                    state.waiting.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiting.removeFirst()  // stays held: ownership passes to the next waiter
        }
        next?.resume()
    }
}
