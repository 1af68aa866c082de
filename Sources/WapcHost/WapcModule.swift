@_spi(Fuzzing) import WasmKit

/// A parsed waPC module that passed validation: it exports `__guest_call` and `memory`, imports
/// only what the host provides, and a trial instance initialized within the limits. Only
/// `load(bytes:…)` and `loadKeepingInstance(bytes:…)` make one, so holding a `WapcModule` means
/// those checks passed. Sharable across threads; instances are made from it.
public struct WapcModule: Sendable {
    let module: Module
    public let engine: WapcEngine
    /// The imports the module uses, as `module.name`.
    public let imports: [String]
    /// Names of the functions the module exports.
    public let exportedFunctions: [String]
    /// The module's custom sections by name (e.g. an embedded descriptor).
    public let customSections: [String: [UInt8]]
    /// How many guest log lines per second its instances may write together (from the
    /// configuration it was loaded with).
    public let logBudget: GuestLogBudget
    /// The names under which the host exported the module's mutable globals (`Rewind`).
    let globalNames: [String]

    /// Parses and validates `bytes`, then instantiates and initializes the module once (under
    /// `configuration`'s limits) so that a module whose `_start`/`wapc_init` traps or never ends is
    /// rejected here.
    public static func load(
        bytes: [UInt8], engine: WapcEngine = .shared, configuration: WapcConfiguration = WapcConfiguration(),
        router: HostCallRouter = .standard
    ) throws(WapcError) -> WapcModule {
        var trial = configuration
        trial.output = .discard  // each real instance prints its own start-up output again
        return try loadKeepingInstance(bytes: bytes, engine: engine, configuration: trial, router: router).module
    }

    /// `load`, returning the trial instance too, ready for calls under `configuration` (its
    /// start-up output went to `configuration.output`): every function is translated already, so
    /// a pool that adopts it serves its first call without translating or instantiating anything.
    public static func loadKeepingInstance(
        bytes: [UInt8], engine: WapcEngine = .shared, configuration: WapcConfiguration = WapcConfiguration(),
        router: HostCallRouter = .standard
    ) throws(WapcError) -> (module: WapcModule, instance: WapcInstance) {
        let module: Module
        let (rewritten, globalNames) = Rewind.exportingMutableGlobals(bytes)
        do {
            module = try parseWasm(bytes: rewritten)
        } catch {
            throw .invalidModule("not a valid WebAssembly module: \(WasmKitErrorText.describe(error))")
        }
        try HostImports.check(module)
        var exportedFunctions: [String] = []
        var exportsMemory = false
        for export in module.exports {
            switch export.descriptor {
            case .function: exportedFunctions.append(export.name)
            case .memory: if export.name == "memory" { exportsMemory = true }
            default: break
            }
        }
        guard exportedFunctions.contains("__guest_call") else {
            throw WapcError(.missingExport, "the module does not export the waPC entry point function \"__guest_call\"")
        }
        guard exportsMemory else {
            throw WapcError(.missingExport, "the module does not export its linear memory as \"memory\"")
        }
        var sections: [String: [UInt8]] = [:]
        for section in module.customSections where sections[section.name] == nil {
            sections[section.name] = Array(section.bytes)
        }
        let loaded = WapcModule(
            module: module, engine: engine, imports: module.imports.map { "\($0.module).\($0.name)" },
            exportedFunctions: exportedFunctions, customSections: sections,
            logBudget: GuestLogBudget(linesPerSecond: configuration.logLinesPerSecond, module: configuration.moduleLabel),
            globalNames: globalNames)
        // Eager translation validates every function body; running the init functions proves the
        // module can start within its limits.
        let instance = try WapcInstance(module: loaded, engine: engine.validation, configuration: configuration, router: router)
        return (loaded, instance)
    }

    /// An instance as it was right after its initializers ran: `kept` rewound (`WapcInstance.rewind`)
    /// if it can be, else a new one, initialized in `initial` and made rewindable.
    public func pristineInstance(
        reusing kept: WapcInstance?, configuration: WapcConfiguration, router: HostCallRouter, initial: CallContext
    ) throws(WapcError) -> WapcInstance {
        if let kept, kept.rewind() { return kept }
        let instance = try instantiate(configuration: configuration, router: router, context: initial)
        instance.makeRewindable()
        return instance
    }

    /// A new instance in its own store, initialized (in `context`) and ready for calls.
    public func instantiate(
        configuration: WapcConfiguration = WapcConfiguration(), router: HostCallRouter = .standard, context: CallContext = .live
    ) throws(WapcError) -> WapcInstance {
        try WapcInstance(module: self, engine: engine.runtime, configuration: configuration, router: router, context: context)
    }
}
