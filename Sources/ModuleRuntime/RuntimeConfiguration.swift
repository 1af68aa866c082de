import Foundation
import WapcHost
import WasmRPCCore

/// Limits and sizes of a `ModuleRuntime`; the defaults suit a small shared server.
public struct RuntimeConfiguration: Sendable {
    /// Limits of every guest call (fuel, timeout, memory, sizes).
    public var wapc = WapcConfiguration()
    /// Threads that run guests (and parse and hash modules): the most calls running at once.
    public var workerThreads = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// Instances of one module alive at once, which is also how many of its calls run at once;
    /// nil means half the workers (at least one), so that one module — looping until its
    /// deadline, or just popular — never takes every worker. Callers beyond it wait without holding
    /// a worker, up to their deadline (or `maxWait` without one), then fail as DEADLINE_EXCEEDED
    /// or RESOURCE_EXHAUSTED.
    public var maxInstancesPerModule: Int?
    /// How long a call whose client set no deadline may wait for one of its module's instances.
    public var maxWait: Duration = .seconds(10)
    /// Instances kept warm across all loaded modules; beyond it an instance is dropped after its
    /// call. With at most `workerThreads` calls running, at most `workerThreads + maxIdleInstances`
    /// instances are alive, each within the memory limit.
    public var maxIdleInstances = 64
    /// Calls that may wait for a worker thread before new ones are refused as overloaded.
    public var maxQueuedCalls = 1_024
    /// Calls that may run at once on the caller's own thread (one of Swift's cooperative threads,
    /// or the event loop of the connection a direct call came on) instead of being handed to a
    /// worker and back — two thread wake-ups saved per call. Only a
    /// module whose last `inlineStreak` calls were each short (at most `inlineFuel` fuel and
    /// `inlineDuration` of wall-clock time) qualifies; a call of it that then is not short on the
    /// caller's thread bars the module from it for good (the runtime's lifetime). So guests hold
    /// at most this many cooperative threads at once, and a guest that loops or blocks does it
    /// there once. 0: every call goes to a worker.
    public var inlineCalls = 1
    /// Short calls in a row before a module's calls may run inline.
    public var inlineStreak = 32
    /// The most fuel a short call uses (about a millisecond of guest code).
    public var inlineFuel: UInt64 = 1_000_000
    /// The longest a short call takes: validation, instance and guest, host calls included. Wide
    /// enough that a call preempted on a busy machine still counts as short.
    public var inlineDuration: Duration = .milliseconds(50)
    /// Modules kept loaded with their instance pools (least recently used ones are dropped).
    public var loadedModules = 64
    /// Module descriptors kept parsed, for listing and describing.
    public var parsedDescriptors = 1_024
    /// The largest module Add accepts.
    public var maxModuleBytes = 32 << 20
    /// The largest descriptor set Add accepts.
    public var maxDescriptorBytes = 8 << 20
    /// Limits on modules' world state and transactions.
    public var state = StateLimits()

    public init() {}

    /// `maxInstancesPerModule`, or its default.
    public var instancesPerModule: Int {
        max(1, maxInstancesPerModule ?? workerThreads / 2)
    }
}

extension RuntimeConfiguration {
    /// `wapc` for module `id`: its guests' log lines name it.
    func wapc(for id: ModuleID) -> WapcConfiguration {
        var configuration = wapc
        configuration.moduleLabel = id.hex
        return configuration
    }
}
