import ContentStore
import Synchronization
import WasmRPCCore

/// What a runtime knows of the module claims (`ModuleClaim`) on a shared store, so that its calls
/// of a hot module make one claim write between them instead of one each, wait out another
/// server's claim instead of running in vain, and give back their server's claim as soon as none
/// of them needs it. Times are this process's monotonic clock, set from the remaining time the
/// store reports (timed by its own clock), so the servers' clocks need not agree.
final class ClaimBook: Sendable {
    enum Holder: Equatable {
        case this, other
    }

    private struct Entry {
        /// Transaction calls of the module under way here.
        var calls = 0
        /// The claim in force as last seen, and until when.
        var holder: Holder?
        var until: ContinuousClock.Instant = .now
        /// A call of ours is claiming it now.
        var claiming = false
    }

    /// What a call whose transaction conflicted repeatedly does before it runs again.
    enum Advice: Equatable {
        /// Claim the module (`claimed` gets the answer).
        case claim
        /// Wait until then: another server holds the module.
        case wait(until: ContinuousClock.Instant)
        /// Run again now: this server holds it, or another call of ours is claiming it.
        case run
    }

    private let entries = Mutex<[ModuleID: Entry]>([:])

    /// A transaction call of `module` begins.
    func began(_ module: ModuleID) {
        entries.withLock { $0[module, default: Entry()].calls += 1 }
    }

    /// A transaction call of `module` ended; true if this server's claim on it is in force and no
    /// call here needs it any more (the caller then releases it).
    func ended(_ module: ModuleID) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[module] else { return false }
            entry.calls -= 1
            let inForce = entry.until > .now
            guard entry.calls <= 0, !entry.claiming else {
                entries[module] = entry
                return false
            }
            // Another server's claim is still worth knowing for the next call; nothing else is.
            entries[module] = entry.holder == .other && inForce ? entry : nil
            return entry.holder == .this && inForce
        }
    }

    func advice(_ module: ModuleID) -> Advice {
        entries.withLock { entries in
            var entry = entries[module, default: Entry()]
            defer { entries[module] = entry }
            if let holder = entry.holder, entry.until > .now {
                return holder == .this ? .run : .wait(until: entry.until)
            }
            if entry.claiming { return .run }
            entry.claiming = true
            return .claim
        }
    }

    /// The answer to the claim `advice` asked for: the claim in force, or nil if the claim could
    /// not be made (it is then as if nobody held the module).
    func claimed(_ module: ModuleID, _ state: ClaimState?, owner: String) {
        entries.withLock { entries in
            var entry = entries[module, default: Entry()]
            entry.claiming = false
            if let state {
                entry.holder = state.owner == owner ? .this : .other
                entry.until = .now + state.remaining
            } else {
                entry.holder = nil
            }
            entries[module] = entry
        }
    }
}
