import Dispatch
import Synchronization

/// Where blocking store work (file and SQLite I/O) runs: dispatch threads, never the few threads of
/// Swift's cooperative pool. A task that prefers this executor (`withTaskExecutorPreference`) runs
/// its nonisolated code here, so a whole operation — a transaction's reads and writes one after
/// another, a proof's reads — runs without a thread hop between its steps. Work that started runs
/// to the end whatever happens to the task: a transaction's COMMIT or ROLLBACK is never skipped by
/// a cancellation.
package final class BlockingExecutor: TaskExecutor {
    package static let shared = BlockingExecutor()

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs blocking `body` on the `BlockingExecutor` (at once if the task is there already).
package func blocking<T>(_ body: () throws(ContentStoreError) -> T) async throws(ContentStoreError) -> T {
    try await withTaskExecutorPreference(BlockingExecutor.shared) { () async throws(ContentStoreError) -> T in try body() }
}

/// A lock for async code that admits one holder at a time, in the order they asked; waiting is
/// not cancellable (a transaction that has asked runs, or fails, like any other).
package final class TransactionLock: Sendable {
    private struct State {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    package init() {}

    /// Runs `body` while holding the lock.
    package func withLock<T: Sendable>(_ body: () async throws(ContentStoreError) -> T) async throws(ContentStoreError) -> T {
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
