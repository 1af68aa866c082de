@_spi(Fuzzing) import WasmKit
import Synchronization

/// Caps an instance's linear memory and tables, and remembers whether it refused growth during
/// the current call so that a failure after a refused `memory.grow` is reported as `memoryLimit`.
final class MemoryCap: ResourceLimiter {
    let maxMemoryBytes: Int
    let maxTableElements: Int
    private let refused = Atomic<Bool>(false)

    init(maxMemoryBytes: Int, maxTableElements: Int) {
        self.maxMemoryBytes = maxMemoryBytes
        self.maxTableElements = maxTableElements
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= maxMemoryBytes else {
            refused.store(true, ordering: .relaxed)
            return false
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        desired <= maxTableElements
    }

    /// Returns whether growth was refused since the last call, and clears the flag.
    func takeRefusal() -> Bool {
        refused.exchange(false, ordering: .relaxed)
    }
}
