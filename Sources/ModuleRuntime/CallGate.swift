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
        case waiting(UnsafeContinuation<Void, any Error>)
        /// Given a slot before its continuation was made.
        case admitted
        /// Timed out or cancelled before its continuation was made.
        case abandoned(any Error)
    }

    /// A queued caller: its entry, and when and how it gives up.
    private struct Waiter {
        var entry: Entry
        let deadline: ContinuousClock.Instant
        let expired: @Sendable () -> any Error
    }

    private struct State {
        var running = 0
        var order: [UInt64] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        /// The task that fails waiters whose bound passed: it sleeps until the earliest bound. A
        /// waiter with an earlier bound starts a new one (a new generation); the old one, when it
        /// wakes, sees it was replaced and ends. One timer per gate, not one per waiter.
        var reaperGeneration: UInt64 = 0
        var reaperWakes: ContinuousClock.Instant?
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
        let queued: (id: UInt64, newReaper: UInt64?)? = state.withLock { state in
            if state.running < limit, state.order.isEmpty {
                state.running += 1
                return nil
            }
            state.nextID += 1
            state.order.append(state.nextID)
            state.waiters[state.nextID] = Waiter(entry: .registered, deadline: deadline, expired: expired)
            guard state.reaperWakes.map({ deadline < $0 }) ?? true else { return (state.nextID, nil) }
            state.reaperGeneration += 1
            state.reaperWakes = deadline
            return (state.nextID, state.reaperGeneration)
        }
        guard let (id, newReaper) = queued else { return }
        if let newReaper {
            Task { [self] in await reap(generation: newReaper, from: deadline) }
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    switch state.waiters[id]?.entry {
                    case .registered?:
                        state.waiters[id]?.entry = .waiting(continuation)
                        return nil
                    case .admitted?:
                        state.waiters[id] = nil
                        return .success(())
                    case .abandoned(let error)?:
                        state.waiters[id] = nil
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

    /// Takes a slot if one is free and nobody is waiting for one; false otherwise (nothing taken).
    func tryEnter() -> Bool {
        state.withLock { state in
            guard state.running < limit, state.order.isEmpty else { return false }
            state.running += 1
            return true
        }
    }

    /// Sleeps until `wake`, fails the waiters whose bound passed, and goes on to the next bound,
    /// until no one waits or a newer reaper took over.
    private func reap(generation: UInt64, from wake: ContinuousClock.Instant) async {
        var wake = wake
        while true {
            try? await Task.sleep(until: wake)
            let now = ContinuousClock.now
            let (expired, next) = state.withLock { state -> ([(UInt64, @Sendable () -> any Error)], ContinuousClock.Instant?) in
                guard state.reaperGeneration == generation else { return ([], nil) }
                let expired = state.order.compactMap { id in state.waiters[id].flatMap { $0.deadline <= now ? (id, $0.expired) : nil } }
                let next = state.order.compactMap { state.waiters[$0]?.deadline }.filter { $0 > now }.min()
                state.reaperWakes = next
                return (expired, next)
            }
            for (id, error) in expired { abandon(id, error: error()) }
            guard let next else { return }
            wake = next
        }
    }

    /// Gives a slot back, handing it to the first caller still waiting.
    func leave() {
        let next: UnsafeContinuation<Void, any Error>? = state.withLock { state in
            state.running -= 1
            guard !state.order.isEmpty else { return nil }
            let id = state.order.removeFirst()
            state.running += 1
            if case .waiting(let continuation)? = state.waiters[id]?.entry {
                state.waiters[id] = nil
                return continuation
            }
            state.waiters[id]?.entry = .admitted
            return nil
        }
        next?.resume()
    }

    /// Takes a waiting caller out of the queue (if it still is in it) and fails it with `error`.
    private func abandon(_ id: UInt64, error: any Error) {
        let waiting: UnsafeContinuation<Void, any Error>? = state.withLock { state in
            guard let index = state.order.firstIndex(of: id) else { return nil }  // already admitted
            state.order.remove(at: index)
            if case .waiting(let continuation)? = state.waiters[id]?.entry {
                state.waiters[id] = nil
                return continuation
            }
            state.waiters[id]?.entry = .abandoned(error)
            return nil
        }
        waiting?.resume(throwing: error)
    }
}
