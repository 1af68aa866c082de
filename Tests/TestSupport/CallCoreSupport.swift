import CallCore
import ContentStore
import Crypto
import Foundation
import Logging
import ModuleRuntime
import TransparencyLog
import WasmRPCCore

/// Runs `body` with a call core over an in-memory store, as a front door sees it (no socket).
/// A module's calls may run at once after three short ones; "short" by fuel, with the clock's
/// bound far away, so no test depends on the machine's speed.
public func withCallCore<T>(
    policy: AccessPolicy = .open, limits: RequestLimits = RequestLimits(add: 8 << 20, call: 1 << 20),
    logger: Logger = Logger(label: "test"), _ body: (CallCore) async throws -> T
) async throws -> T {
    var configuration = RuntimeConfiguration()
    configuration.inlineStreak = 3
    configuration.inlineDuration = .seconds(60)
    let signer = try NoteSigner(name: "test", key: Curve25519.Signing.PrivateKey())
    let store = try await ContentStore.open(engine: MemoryStorage(), log: LogIdentity(origin: "test", signer: signer))
    let runtime = ModuleRuntime(store: store, configuration: configuration)
    let core = CallCore(
        runtime: runtime, directory: ServiceDirectory(), policy: policy, log: CallLog(logger: logger, metrics: ServerMetrics()), limits: limits)
    do {
        let result = try await body(core)
        await runtime.shutdown()
        return result
    } catch {
        await runtime.shutdown()
        throw error
    }
}

/// Adds the complex guest through `core` and calls its `mul` until its calls may run at once; its id.
public func addWarmComplex(_ core: CallCore) async throws -> ModuleID {
    let added = try await core.add(.with { $0.wasm = Data(complexWasm); $0.descriptor = complexDescriptor })
    let id = ModuleID(hex: added.metadata.id)!
    let call = core.begin(.invoke, CallHeaders(), peer: "test")
    let input = Array(try complexRequest((1, 2), (3, 4)).value)
    for _ in 0..<4 { _ = try await core.run(call, CallTarget(module: id, function: "mul"), input: input) }
    return id
}
