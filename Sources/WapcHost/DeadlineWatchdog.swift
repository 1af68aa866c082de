import Dispatch
import Foundation
import Synchronization
import WasmKit

/// Stops guest code that runs past its wall-clock deadline.
///
/// WasmKit can only stop running code by fuel, and an out-of-fuel trap cannot be resumed, so a
/// deadline cannot be enforced with fuel slices. Instead one process-wide thread watches armed
/// calls and, when a deadline passes, drains that call's fuel to zero: the interpreter traps at its
/// next fuel charge (every loop back-edge and function entry), and the call reports
/// `deadlineExceeded`. The thread sleeps while no call is armed.
final class DeadlineWatchdog: Sendable {
    static let shared = DeadlineWatchdog()

    /// The store of a running call, written to from the watchdog thread.
    ///
    /// `@unchecked Sendable`: the only cross-thread access is `store.fuel = 0`, made while the call
    /// is armed (arm/disarm and that write happen under `state`'s lock, so the watchdog never touches
    /// a store outside its call). It races with the interpreter's read-subtract-write of the same
    /// 64-bit cell; an aligned 64-bit store cannot tear on the platforms we run on, and a zero lost
    /// to that race is written again on the next tick until the call ends. This is the one place
    /// where WasmKit's "a Store is thread-confined" rule is bent, for want of an interrupt API.
    private struct ArmedCall: @unchecked Sendable {
        let deadline: UInt64
        let store: Store
        let expired: ExpiryFlag
    }

    final class ExpiryFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    struct Ticket {
        fileprivate let id: UInt64
        let expired: ExpiryFlag
    }

    private struct State: ~Copyable {
        var armed: [UInt64: ArmedCall] = [:]
        var nextID: UInt64 = 0
        var threadStarted = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// How often an expired call that is still running gets its fuel drained again, and the
    /// longest the thread sleeps while calls are armed (a newly armed, earlier deadline is noticed
    /// within this bound).
    private static let tickNanoseconds: UInt64 = 2_000_000

    func arm(deadline: UInt64, store: Store) -> Ticket {
        let flag = ExpiryFlag()
        let (id, wasIdle, startThread) = state.withLock { state in
            let id = state.nextID
            state.nextID &+= 1
            let wasIdle = state.armed.isEmpty
            state.armed[id] = ArmedCall(deadline: deadline, store: store, expired: flag)
            let startThread = !state.threadStarted
            state.threadStarted = true
            return (id, wasIdle, startThread)
        }
        if startThread {
            let thread = Thread { [self] in run() }
            thread.name = "wasmrpc-deadline-watchdog"
            thread.start()
        } else if wasIdle {
            wake.signal()
        }
        return Ticket(id: id, expired: flag)
    }

    func disarm(_ ticket: Ticket) {
        _ = state.withLock { $0.armed.removeValue(forKey: ticket.id) }
    }

    private func run() {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let next: UInt64? = state.withLock { state in
                guard !state.armed.isEmpty else { return nil }
                var next = now + Self.tickNanoseconds
                for call in state.armed.values {
                    if call.deadline <= now {
                        call.expired.set()
                        call.store.fuel = Fuel(remaining: 0)
                    } else {
                        next = min(next, call.deadline)
                    }
                }
                return next
            }
            if let next {
                let delay = next > now ? next - now : 0
                if delay > 0 { _ = wake.wait(timeout: .now() + .nanoseconds(Int(delay))) }
            } else {
                wake.wait()
            }
        }
    }
}
