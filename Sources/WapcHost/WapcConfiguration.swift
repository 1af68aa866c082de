/// Limits and hooks that apply to every instance and call of a module.
public struct WapcConfiguration: Sendable {
    /// Fuel per call (≈ one unit per executed wasm operator). `nil`: no fuel limit, only the deadline.
    public var fuel: UInt64? = 2_000_000_000
    /// Wall-clock limit per call, including `_start`/`wapc_init` on a new instance. `nil`: none.
    public var timeout: Duration? = .seconds(1)
    /// Linear memory cap per instance, in bytes.
    public var memoryLimit: Int = 64 << 20
    /// Largest request payload a call may pass to the guest.
    public var maxRequestBytes: Int = 16 << 20
    /// Largest response a guest may set with `__guest_response` or error with `__guest_error`.
    public var maxResponseBytes: Int = 16 << 20
    /// Host calls allowed per call.
    public var maxHostCalls: Int = 1_000
    /// Largest payload (and binding/namespace/operation total) a guest may send in one host call.
    public var maxHostCallPayloadBytes: Int = 4 << 20
    /// Console and WASI stdout/stderr bytes forwarded per call; the rest is dropped.
    public var maxOutputBytes: Int = 64 << 10
    /// Guest log lines (console and WASI stdout/stderr writes, host calls to a capability that
    /// logs) one call may write; the rest are dropped.
    public var maxLogLinesPerCall: Int = 100
    /// Guest log lines per second one module may write across all its calls, and as many at once
    /// (`GuestLogBudget`); the rest are dropped, and how many is logged at most once a second.
    public var logLinesPerSecond: Int = 100
    /// Table elements an instance may grow to.
    public var maxTableElements: Int = 100_000
    /// Receives what the guest writes with `__console_log` and WASI stdout/stderr.
    public var output: GuestOutput = .logger()
    /// Names the module in what its guests log (console and WASI output through `.logger`, host
    /// calls a logging capability receives, dropped-line warnings), as `module` metadata; the
    /// runtime sets the module's id. nil: unnamed.
    public var moduleLabel: String?

    public init() {}
}
