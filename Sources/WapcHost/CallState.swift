import Dispatch
import WasmKit

/// The mutable state one instance shares with its host functions: the current call's request,
/// the guest's answer, the last host call's answer, and the per-call budgets. Confined to the
/// thread running the instance.
final class CallState {
    let configuration: WapcConfiguration
    let router: HostCallRouter
    /// The module's guest log budget, shared by its instances.
    let logBudget: GuestLogBudget
    var memory: GuestMemory?

    var operation: [UInt8] = []
    var payload: [UInt8] = []
    var guestResponse: [UInt8]?
    var guestError: [UInt8]?
    var hostResponse: [UInt8]?
    var hostError: [UInt8]?
    var hostCalls = 0
    var outputBytes = 0
    /// Guest log lines this call wrote.
    var logLines = 0
    /// Deadline of the running call, in `DispatchTime` uptime nanoseconds.
    var deadline: UInt64?
    /// Set when the guest called `proc_exit`.
    var exitCode: UInt32?
    /// The clocks, random bytes and capability value of the running call (or initializer).
    var context = CallContext.live

    init(configuration: WapcConfiguration, router: HostCallRouter, logBudget: GuestLogBudget) {
        self.configuration = configuration
        self.router = router
        self.logBudget = logBudget
    }

    /// Clears everything a previous call left behind.
    func reset() {
        operation = []
        payload = []
        guestResponse = nil
        guestError = nil
        hostResponse = nil
        hostError = nil
        hostCalls = 0
        outputBytes = 0
        logLines = 0
        exitCode = nil
        context = .live
    }

    func guestMemory(_ caller: borrowing Caller) throws(WapcError) -> GuestMemory {
        if let memory { return memory }
        // Host functions called from a wasm start function run before `memory` is looked up.
        guard let exported = caller.instance?.exports[memory: "memory"] else {
            throw .guestFault("the module has no memory exported as \"memory\"")
        }
        return GuestMemory(memory: exported)
    }

    func checkDeadline() throws(WapcError) {
        if let deadline, DispatchTime.now().uptimeNanoseconds > deadline {
            throw WapcError(.deadlineExceeded, "the call ran past its deadline")
        }
    }

    /// Whether the call may write one more guest log line: within its own limit and its module's
    /// budget. A refused line is counted for the budget's report.
    func admitLogLine() -> Bool {
        guard logLines < configuration.maxLogLinesPerCall else {
            logBudget.dropped(overCallLimit: 1)
            return false
        }
        guard logBudget.admit() else { return false }
        logLines += 1
        return true
    }

    /// Forwards guest text at `pointer..<pointer+length` to the configured output. The whole range
    /// must lie in guest memory; only what fits the per-call output budget is copied.
    func emit(_ stream: GuestOutput.Stream, _ memory: GuestMemory, _ pointer: UInt32, _ length: UInt32, _ what: StaticString)
        throws(WapcError)
    {
        try memory.check(pointer, UInt64(length), what)
        let room = UInt32(clamping: max(0, configuration.maxOutputBytes - outputBytes))
        guard room > 0, length > 0, admitLogLine() else { return }
        let bytes = try memory.read(pointer, min(length, room), what)
        outputBytes += bytes.count
        configuration.output(stream, bytes, module: configuration.moduleLabel)
    }
}
