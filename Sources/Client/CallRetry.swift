import GRPCCore

/// Retrying a call that failed in a way worth another try (docs/CHAINCODE.md, "Exactly-once
/// calls"): ABORTED (its transaction kept conflicting; nothing was committed), UNAVAILABLE (the
/// server, or the replica the call went to, could not answer; with several servers the next try
/// goes to the next) and UNKNOWN (the server could not tell whether its commit happened). A
/// state-changing call is safe to retry only with an idempotency key, which the caller sends
/// unchanged with every try. Tries wait a random time up to a bound that doubles
/// each time, from `firstWait` to `maxWait` ("full jitter").
public struct CallRetry: Sendable {
    /// Tries after the first.
    public var retries: Int
    public var firstWait: Duration
    public var maxWait: Duration

    public init(retries: Int, firstWait: Duration = .milliseconds(100), maxWait: Duration = .seconds(2)) {
        self.retries = max(0, retries)
        self.firstWait = firstWait
        self.maxWait = maxWait
    }

    /// Whether a call that failed with `error` may be tried again.
    public static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? RPCError else { return false }
        return error.code == .aborted || error.code == .unavailable || error.code == .unknown
    }

    /// Whether a state-changing call that failed with `error` may have committed all the same: the
    /// server's answer did not arrive (the connection broke, the client's own deadline passed, the
    /// call was cancelled). Any other error is the server's decision, which leaves no trace.
    public static func outcomeIsUnknown(_ error: any Error) -> Bool {
        guard let error = error as? RPCError else { return true }
        return error.code == .unavailable || error.code == .deadlineExceeded || error.code == .cancelled || error.code == .unknown
    }

    /// Runs `call`, again after each retryable failure while tries are left; `retrying` hears of
    /// each failure that is retried (the try that failed, counting from 1, and the error) before
    /// the wait.
    public func run<T: Sendable>(
        retrying: (_ attempt: Int, _ error: any Error) -> Void = { _, _ in }, _ call: () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch {
                guard attempt <= retries, Self.isRetryable(error) else { throw error }
                retrying(attempt, error)
                let bound = min(maxWait, firstWait * (1 << min(attempt - 1, 20)))
                try await Task.sleep(for: bound * Double.random(in: 0..<1))
                attempt += 1
            }
        }
    }
}
