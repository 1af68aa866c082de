import Synchronization

/// Lets at most `limit` calls of one module run at once, so that one module (say, one stuck in a
/// loop until its deadline) cannot take every worker thread. Callers beyond the limit wait here —
/// suspended, not holding a thread — in arrival order, until a running call leaves, their wait
/// bound passes, or their task is cancelled.
final class CallGate: Sendable {
    let limit: Int

    private enum Entry {
        /// Queued; its continuation is not made yet.
        case registered
        case waiting(CheckedContinuation<Void, any Error>)
        /// Given a slot before its continuation was made.
        case admitted
        /// Timed out or cancelled before its continuation was made.
        case abandoned(any Error)
    }

    private struct State {
        var running = 0
        var order: [UInt64] = []
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The gate's own bookkeeping went wrong: our bug, reported as INTERNAL for one call.
    struct BrokenInvariant: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Calls running and waiting right now.
    var counts: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.order.count) }
    }

    /// Takes a slot, waiting until `deadline` at most; then throws `expired()`. Every successful
    /// `enter` must be paired with one `leave`.
    func enter(until deadline: ContinuousClock.Instant, expired: @escaping @Sendable () -> any Error) async throws {
        let id: UInt64? = state.withLock { state in
            if state.running < limit, state.order.isEmpty {
                state.running += 1
                return nil
            }
            state.nextID += 1
            state.order.append(state.nextID)
            state.entries[state.nextID] = .registered
            return state.nextID
        }
        guard let id else { return }
        let timer = Task { [self] in
            try await Task.sleep(until: deadline)
            abandon(id, error: expired())
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    switch state.entries[id] {
                    case .registered?:
                        state.entries[id] = .waiting(continuation)
                        return nil
                    case .admitted?:
                        state.entries[id] = nil
                        return .success(())
                    case .abandoned(let error)?:
                        state.entries[id] = nil
                        return .failure(error)
                    case .waiting?, nil:
                        // Cannot happen (only this closure makes the continuation); if it did, fail
                        // this one call (INTERNAL) rather than the process.
                        return .failure(BrokenInvariant(message: "call gate entry \(id) was resumed twice"))
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            abandon(id, error: CancellationError())
        }
    }

    /// Gives a slot back, handing it to the first caller still waiting.
    func leave() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            state.running -= 1
            guard !state.order.isEmpty else { return nil }
            let id = state.order.removeFirst()
            state.running += 1
            if case .waiting(let continuation)? = state.entries[id] {
                state.entries[id] = nil
                return continuation
            }
            state.entries[id] = .admitted
            return nil
        }
        next?.resume()
    }

    /// Takes a waiting caller out of the queue (if it still is in it) and fails it with `error`.
    private func abandon(_ id: UInt64, error: any Error) {
        let waiting: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard let index = state.order.firstIndex(of: id) else { return nil }  // already admitted
            state.order.remove(at: index)
            if case .waiting(let continuation)? = state.entries[id] {
                state.entries[id] = nil
                return continuation
            }
            state.entries[id] = .abandoned(error)
            return nil
        }
        waiting?.resume(throwing: error)
    }
}
