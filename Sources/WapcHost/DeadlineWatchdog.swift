import Dispatch
import Foundation
import Synchronization
import WasmKit

/// Stops guest code that runs past its wall-clock deadline.
///
/// WasmKit can only stop running code by fuel, and an out-of-fuel trap cannot be resumed, so a
/// deadline cannot be enforced with fuel slices. Instead one process-wide thread looks at the
/// instances' deadline slots every few milliseconds and, when an armed call's deadline has passed,
/// drains that call's fuel to zero: the interpreter traps at its next fuel charge (every loop
/// back-edge and function entry), and the call reports `deadlineExceeded`.
///
/// Arming and disarming touch only the instance's own slot (an uncontended lock), so calls on
/// different threads never contend here. The thread parks after a few scans that found nothing
/// armed, and the next `arm` wakes it.
final class DeadlineWatchdog: Sendable {
    static let shared = DeadlineWatchdog()

    /// One instance's deadline, checked by the watchdog thread.
    ///
    /// `@unchecked Sendable` because of `store`: the only cross-thread access to it is
    /// `store.fuel = 0`, made by the watchdog while it holds this slot's lock and the call is armed
    /// (arm/disarm take the same lock, so the watchdog never touches the store outside its call).
    /// That write races with the interpreter's read-subtract-write of the same 64-bit cell; an
    /// aligned 64-bit store cannot tear on the platforms we run on, and a zero lost to the race is
    /// written again on the next scan until the call ends. This is the one place where WasmKit's
    /// "a Store is thread-confined" rule is bent, for want of an interrupt API.
    final class Slot: @unchecked Sendable {
        private struct Armed {
            var deadline: UInt64?
            var expired = false
        }

        private let store: Store
        private let armed = Mutex(Armed())

        init(store: Store) { self.store = store }

        /// Arms the slot for a call that must end by `deadline` (uptime nanoseconds).
        func arm(deadline: UInt64) {
            armed.withLock { $0 = Armed(deadline: deadline) }
            DeadlineWatchdog.shared.unpark()
        }

        /// Disarms the slot; returns whether the deadline passed while armed.
        func disarm() -> Bool {
            armed.withLock { state in
                defer { state = Armed() }
                return state.expired
            }
        }

        /// Expires the call if its deadline passed; returns the deadline still pending, if any.
        fileprivate func check(now: UInt64) -> UInt64? {
            armed.withLock { state in
                guard let deadline = state.deadline else { return nil }
                guard deadline <= now else { return deadline }
                state.expired = true
                store.fuel = Fuel(remaining: 0)
                return now &+ DeadlineWatchdog.scanNanoseconds  // still running: drain again next scan
            }
        }
    }

    private let slots = Mutex<[ObjectIdentifier: Slot]>([:])
    private let parked = Atomic<Bool>(true)
    private let threadStarted = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// How often armed slots are scanned: the deadline resolution, and the longest a newly armed,
    /// earlier deadline can go unnoticed.
    fileprivate static let scanNanoseconds: UInt64 = 2_000_000

    func register(store: Store) -> Slot {
        let slot = Slot(store: store)
        slots.withLock { $0[ObjectIdentifier(slot)] = slot }
        return slot
    }

    func unregister(_ slot: Slot) {
        _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    private func unpark() {
        guard parked.load(ordering: .sequentiallyConsistent) else { return }
        if threadStarted.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged {
            let thread = Thread { [self] in run() }
            thread.name = "wasmrpc-deadline-watchdog"
            thread.start()
        }
        if parked.exchange(false, ordering: .sequentiallyConsistent) {
            wake.signal()
        }
    }

    /// Returns the earliest pending deadline of all armed slots, expiring the overdue ones.
    private func scan() -> UInt64? {
        let now = DispatchTime.now().uptimeNanoseconds
        let all = slots.withLock { Array($0.values) }
        var earliest: UInt64?
        for slot in all {
            if let deadline = slot.check(now: now) { earliest = min(earliest ?? deadline, deadline) }
        }
        return earliest
    }

    private func run() {
        parked.store(false, ordering: .sequentiallyConsistent)
        var idleScans = 0
        while true {
            if let earliest = scan() {
                idleScans = 0
                let now = DispatchTime.now().uptimeNanoseconds
                let delay = min(Self.scanNanoseconds, earliest > now ? earliest - now : 0)
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(max(delay, 100_000))))
                continue
            }
            idleScans += 1
            if idleScans < 3 {
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(Self.scanNanoseconds)))
                continue
            }
            // Park; a call armed between the scan above and here is caught by the rescan, and
            // one armed after it sees `parked` and signals.
            parked.store(true, ordering: .sequentiallyConsistent)
            if scan() != nil {
                if parked.exchange(false, ordering: .sequentiallyConsistent) { continue }
            }
            wake.wait()
            idleScans = 0
        }
    }
}
