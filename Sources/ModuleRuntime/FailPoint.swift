#if DEBUG
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#endif

/// Fault injection for the crash tests (docs/RELIABILITY.md), in debug builds only: with
/// `WASMRPC_FAILPOINT=kill-after-commit` in its environment, the process kills itself (SIGKILL)
/// right after it commits a batch of transactions and before any caller hears of it, the moment
/// in which only an idempotency key lets a client learn what happened. Release builds read no
/// such variable.
enum FailPoint {
    #if DEBUG
    private static let killAfterCommit = ProcessInfo.processInfo.environment["WASMRPC_FAILPOINT"] == "kill-after-commit"
    #endif

    /// Called once a batch is committed.
    static func committed() {
        #if DEBUG
        if killAfterCommit { kill(getpid(), SIGKILL) }
        #endif
    }
}
