import ContentStore
import Foundation
import ModuleRuntime
import SwiftProtobuf
import TestSupport
import WAT
import WapcHost
import WasmRPCCore
import SQLiteEngine

/// Runs `body` with a runtime on a fresh data directory, configured by `configure`, whose host
/// calls to binding `test` and the given namespaces reach `capabilities`; shuts it down after.
func withFreshRuntime<T>(
    _ configure: (inout RuntimeConfiguration) -> Void, capabilities: [String: any HostCapability] = [:],
    _ body: (ModuleRuntime) async throws -> T
) async throws -> T {
    var router = HostCallRouter.standard
    for (namespace, capability) in capabilities { router.register(capability, binding: "test", namespace: namespace) }
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = RuntimeConfiguration()
    configure(&configuration)
    let runtime = ModuleRuntime(store: try await ContentStore.open(directory: directory), configuration: configuration, router: router)
    do {
        let result = try await body(runtime)
        await runtime.shutdown()
        return result
    } catch {
        await runtime.shutdown()
        throw error
    }
}

/// Adds a module whose `loop.Loop/run` runs the WAT `text`; returns its id.
func addNothingModule(_ runtime: ModuleRuntime, wat text: String) async throws -> ModuleID {
    try await runtime.add(wasm: try wat2wasm(text), descriptorSet: try TestGuests.nothing.serializedBytes(), name: "").record.id
}
