import Dispatch
import Logging
import Synchronization

/// How many guest log lines one module may write: a token bucket of `linesPerSecond` lines per
/// second (and as many at once), shared by all its instances. A guest log line is a
/// `__console_log` or WASI stdout/stderr write, or a host call to a capability that logs
/// (`HostCapability.writesLog`). Lines over the budget are dropped; how many is reported, at most
/// once a second, as a warning.
public final class GuestLogBudget: Sendable {
    private struct State {
        var tokens: Double
        /// Uptime nanoseconds of the last refill and the last report.
        var refilled: UInt64
        var reported: UInt64 = 0
        var dropped = 0
    }

    public let linesPerSecond: Int
    private let state: Mutex<State>
    private let logger: Logger

    /// `module` names the module in the report of dropped lines.
    public init(linesPerSecond: Int, module: String? = nil, logger: Logger = Logger(label: "wasmrpc.guest")) {
        self.linesPerSecond = max(0, linesPerSecond)
        var logger = logger
        if let module { logger[metadataKey: "module"] = "\(module)" }
        self.logger = logger
        state = Mutex(State(tokens: Double(max(0, linesPerSecond)), refilled: DispatchTime.now().uptimeNanoseconds))
    }

    /// Whether one more line may be written now; a refused line is counted for the report.
    func admit() -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let (admitted, report) = state.withLock { state -> (Bool, Int?) in
            let elapsed = Double(now &- state.refilled) / 1e9
            state.tokens = min(Double(linesPerSecond), state.tokens + elapsed * Double(linesPerSecond))
            state.refilled = now
            if state.tokens >= 1 {
                state.tokens -= 1
                return (true, nil)
            }
            return (false, Self.count(1, in: &state, now: now))
        }
        if let report { dropped(report) }
        return admitted
    }

    /// Counts lines a call dropped over its own limit, for the same report.
    func dropped(overCallLimit count: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        if let report = state.withLock({ Self.count(count, in: &$0, now: now) }) { dropped(report) }
    }

    /// Adds `count` dropped lines; returns the number to report if a report is due.
    private static func count(_ count: Int, in state: inout State, now: UInt64) -> Int? {
        state.dropped += count
        guard now &- state.reported >= 1_000_000_000 else { return nil }
        state.reported = now
        defer { state.dropped = 0 }
        return state.dropped
    }

    private func dropped(_ count: Int) {
        logger.warning(
            "guest log lines dropped over the limits",
            metadata: ["dropped": "\(count)", "per-second": "\(linesPerSecond)"])
    }
}
