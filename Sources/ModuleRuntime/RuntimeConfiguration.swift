import Foundation
import WapcHost

/// Limits and sizes of a `ModuleRuntime`; the defaults suit a small shared server.
public struct RuntimeConfiguration: Sendable {
    /// Limits of every guest call (fuel, timeout, memory, sizes).
    public var wapc = WapcConfiguration()
    /// Threads that run guests (and blocking store work): the most calls running at once.
    public var workerThreads = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// Instances of one module alive at once; nil means `workerThreads`, so a call never waits
    /// for an instance, only for a thread. With fewer, callers beyond it wait up to the call
    /// timeout (holding their worker), then fail as RESOURCE_EXHAUSTED.
    public var maxInstancesPerModule: Int?
    /// Calls that may wait for a worker thread before new ones are refused as overloaded.
    public var maxQueuedCalls = 1_024
    /// Modules kept loaded with their instance pools (least recently used ones are dropped).
    public var loadedModules = 64
    /// Module descriptors kept parsed, for listing and describing.
    public var parsedDescriptors = 1_024
    /// The largest module Add accepts.
    public var maxModuleBytes = 32 << 20
    /// The largest descriptor set Add accepts.
    public var maxDescriptorBytes = 8 << 20

    public init() {}
}
