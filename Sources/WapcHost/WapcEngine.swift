import WasmKit

/// The WasmKit engines shared by every module and instance of a process.
///
/// Two engines with the same settings except compilation: instances that serve calls translate
/// functions lazily (only what runs is translated), while loading a module translates every
/// function once so that invalid code is rejected at load time, not on some later call. (The
/// instance made by that translation can serve calls too: `WapcModule.loadKeepingInstance`.)
public final class WapcEngine: Sendable {
    let runtime: Engine
    let validation: Engine

    public init() {
        runtime = Engine(configuration: EngineConfiguration(compilationMode: .lazy, memoryBoundsChecking: .software, fuelMetering: true))
        validation = Engine(configuration: EngineConfiguration(compilationMode: .eager, memoryBoundsChecking: .software, fuelMetering: true))
    }

    /// One engine for the whole process is enough; engines are thread-safe.
    public static let shared = WapcEngine()
}
