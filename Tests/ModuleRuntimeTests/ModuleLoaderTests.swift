import ContentStore
import Foundation
import Synchronization
import Testing
import WAT
import WapcHost
import WasmRPCCore

@testable import ModuleRuntime
import TestSupport

/// One module has one loaded form at a time: concurrent first calls share one load, and a module
/// evicted while its calls run is taken back with its gate, so it never runs more calls at once
/// than it has instances.
@Suite(.timeLimit(.minutes(10))) struct ModuleLoaderTests {
    /// wapc_init makes the host call test/count (once per instance initialized, the load's trial
    /// instance included); each call answers an empty message.
    static let countingInit = """
        (module
          (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "testcount")
          (func (export "wapc_init")
            (drop (call $host_call (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 5) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 0))))
          (func (export "__guest_call") (param i32 i32) (result i32)
            (call $respond (i32.const 0) (i32.const 0))
            (i32.const 1)))
        """

    @Test func concurrentFirstCallsShareOneLoad() async throws {
        let counter = HostCallCounter()
        let configure = { (configuration: inout RuntimeConfiguration) in
            configuration.loadedModules = 1
            configuration.maxInstancesPerModule = 1  // the trial instance is the only one: one init per load
            configuration.wapc.timeout = .seconds(60)
        }
        try await withFreshRuntime(configure, capabilities: ["count": counter]) { runtime in
            let counting = try await addNothingModule(runtime, wat: Self.countingInit)
            #expect(counter.calls.load(ordering: .relaxed) == 1)
            // Another module takes the only place in the cache.
            _ = try await runtime.add(wasm: complexWasm, descriptorSet: try complexDescriptor.serializedBytes(), name: "")
            #expect(runtime.callCounts(of: counting) == nil)
            let loadsBefore = runtime.loadCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { _ = try await runtime.invoke(module: counting, function: "run", typeURL: "", parameters: []) }
                }
                try await group.waitForAll()
            }
            #expect(runtime.loadCount == loadsBefore + 1)
            #expect(counter.calls.load(ordering: .relaxed) == 2)
        }
    }

    @Test func aModuleEvictedWhileItsCallsRunKeepsItsGate() async throws {
        let hold = Hold()
        let configure = { (configuration: inout RuntimeConfiguration) in
            configuration.loadedModules = 1
            configuration.maxInstancesPerModule = 1
            configuration.workerThreads = 3
            configuration.inlineCalls = 0
            configuration.wapc.timeout = .seconds(120)
        }
        try await withFreshRuntime(configure, capabilities: ["hold": hold]) { runtime in
            defer { hold.release(100) }  // whatever a failed test left blocked, before the runtime shuts down
            let holder = try await addNothingModule(runtime, wat: TestGuests.holdWat)
            let held = { @Sendable in try await runtime.invoke(module: holder, function: "run", typeURL: "", parameters: []) }
            let first = Task { try await held() }
            try await eventually { runtime.callCounts(of: holder).map { $0 == (1, 0) } ?? false }
            // Another module evicts the holder from the cache while its call holds its only instance.
            _ = try await runtime.add(wasm: complexWasm, descriptorSet: try complexDescriptor.serializedBytes(), name: "")
            #expect(runtime.callCounts(of: holder) == nil)
            // The next call takes the module back as it is, and waits at its gate.
            let second = Task { try await held() }
            try await eventually { runtime.callCounts(of: holder).map { $0 == (1, 1) } ?? false }
            #expect(runtime.pendingWork == 1)
            hold.release(2)
            _ = try await first.value
            _ = try await second.value
            #expect(runtime.callCounts(of: holder).map { $0 == (0, 0) } ?? false)
        }
    }
}
