import ContentStore
import Synchronization
import WasmRPCCore

/// Group commit of transactions (docs/CHAINCODE.md): calls hand in their pending transactions in
/// the order they ran, and one committer at a time commits everything handed in since its last
/// commit as one batch (`ContentStore.commit`: one storage transaction, one checkpoint), so a
/// durable commit is paid once per batch rather than once per call. Until its batch is committed,
/// a transaction's writes are visible to the next transactions of its module (`pending(of:)`);
/// those read them, and commit only if they are committed by then with the same values.
final class CommitQueue: Sendable {
    /// One handed-in transaction, and then what became of it.
    final class Ticket: Sendable {
        let transaction: PendingTransaction
        let writes: StateOverlay
        private let state = Mutex<(result: Result<TransactionOutcome, any Error>?, waiting: [CheckedContinuation<Result<TransactionOutcome, any Error>, Never>])>(
            (nil, []))

        init(_ transaction: PendingTransaction) {
            self.transaction = transaction
            writes = transaction.writes.overlay
        }

        /// What became of it, once its batch is committed (or failed).
        func outcome() async -> Result<TransactionOutcome, any Error> {
            await withCheckedContinuation { continuation in
                let done: Result<TransactionOutcome, any Error>? = state.withLock { state in
                    if let result = state.result { return result }
                    state.waiting.append(continuation)
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        }

        fileprivate func finish(_ result: Result<TransactionOutcome, any Error>) {
            let waiting = state.withLock { state in
                state.result = result
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume(returning: result) }
        }
    }

    private struct State {
        var queue: [Ticket] = []
        /// Handed in and not finished, per module, in order.
        var unfinished: [ModuleID: [Ticket]] = [:]
        var committing = false
    }

    private let state = Mutex(State())
    private let store: ContentStore
    private let limits: StateLimits

    init(store: ContentStore, limits: StateLimits) {
        self.store = store
        self.limits = limits
    }

    /// The writes of `module`'s transactions that are handed in and not finished, later ones over
    /// earlier ones, and the last of those transactions.
    func pending(of module: ModuleID) -> (writes: StateOverlay, last: Ticket?) {
        state.withLock { state in
            guard let tickets = state.unfinished[module], !tickets.isEmpty else { return ([:], nil) }
            var writes: StateOverlay = [:]
            for ticket in tickets { writes.merge(ticket.writes) { _, later in later } }
            return (writes, tickets.last)
        }
    }

    /// Hands in `transaction`: it is committed after every transaction handed in before it.
    func submit(_ transaction: PendingTransaction) -> Ticket {
        let ticket = Ticket(transaction)
        let start = state.withLock { state -> Bool in
            state.queue.append(ticket)
            state.unfinished[transaction.module, default: []].append(ticket)
            guard !state.committing else { return false }
            state.committing = true
            return true
        }
        if start { Task { await commitAll() } }
        return ticket
    }

    /// Commits batches until the queue is empty.
    private func commitAll() async {
        while true {
            let batch: [Ticket] = state.withLock { state in
                let batch = Array(state.queue.prefix(max(1, limits.maxBatch)))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.committing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let results: [Result<TransactionOutcome, any Error>]
            do {
                let outcomes = try await store.commit(
                    batch.map(\.transaction), maxStateBytes: limits.maxStateBytes, idempotencyRetention: limits.idempotencyRetention)
                results = outcomes.map { .success($0) }
                FailPoint.committed()
            } catch {
                // The batch may have committed all the same: answer what the store has.
                do {
                    results = try await store.resolve(batch.map(\.transaction), after: error).map { .success($0) }
                } catch {
                    results = Array(repeating: .failure(error), count: batch.count)
                }
            }
            state.withLock { state in
                for ticket in batch {
                    let module = ticket.transaction.module
                    state.unfinished[module]?.removeAll { $0 === ticket }
                    if state.unfinished[module]?.isEmpty == true { state.unfinished[module] = nil }
                }
            }
            for (ticket, result) in zip(batch, results) { ticket.finish(result) }
        }
    }
}
