import ContentStore
import Foundation
import SwiftProtobuf
import Testing
import WAT
import WapcHost

@testable import ModuleRuntime
import WasmRPCCore
import TestSupport

/// Calls on the caller's thread (`RuntimeConfiguration.inlineCalls`): only for modules whose
/// recent calls were short, never more than the configured number at once, and never again for a
/// module one of whose calls was not short there. "Short" is judged by fuel here, and loops end
/// by fuel (the wall-clock bounds are set far beyond any call), so no test depends on the
/// machine's speed.
@Suite(.timeLimit(.minutes(10))) struct InlineCallTests {
    /// `Tests/Fixtures/hostile.wat`'s cases as methods named by that many x's: 8 loops, 10
    /// recurses until the call stack runs out, 15 answers "fine" (not a valid `Nothing`, so
    /// INVALID_OUTPUT, but a short call).
    static let hostileSet = descriptorSet(
        package: "hostile", messages: ["Nothing": []],
        services: [("Calls", [8, 10, 15].map { (String(repeating: "x", count: $0), "Nothing", "Nothing") })])

    func withRuntime(
        _ configure: (inout RuntimeConfiguration) -> Void = { _ in }, _ body: (ModuleRuntime, _ complex: ModuleID, _ hostile: ModuleID) async throws -> Void
    ) async throws {
        let settings = { (configuration: inout RuntimeConfiguration) in
            configuration.inlineStreak = 3
            configuration.inlineDuration = .seconds(60)
            // The loop ends by fuel, not by the clock (a busy test machine must not fail other calls).
            configuration.wapc.timeout = .seconds(60)
            configuration.wapc.fuel = 5_000_000
            configure(&configuration)
        }
        try await withFreshRuntime(settings) { runtime in
            let complex = try await runtime.add(wasm: complexWasm, descriptorSet: try complexDescriptor.serializedBytes(), name: "").record.id
            let hostile = try await runtime.add(
                wasm: try fixture("Tests/Fixtures/hostile.wat"), descriptorSet: try Self.hostileSet.serializedBytes(), name: "").record.id
            try await body(runtime, complex, hostile)
        }
    }

    func mul(_ runtime: ModuleRuntime, _ complex: ModuleID) async throws -> Invocation {
        let invocation = try await runtime.invoke(
            module: complex, function: "mul", typeURL: "", parameters: Array(try complexRequest((1, 2), (3, 4)).value))
        let (real, imag) = try complexResult(Google_Protobuf_Any.with { $0.typeURL = invocation.typeURL; $0.value = Data(invocation.output) })
        #expect(real == -5 && imag == 10)
        return invocation
    }

    /// Calls hostile case `length`; returns the error's code (the guest's, for a guest failure).
    func hostileCase(_ runtime: ModuleRuntime, _ hostile: ModuleID, _ length: Int) async -> String {
        do {
            _ = try await runtime.invoke(module: hostile, function: String(repeating: "x", count: length), typeURL: "", parameters: [])
            return "ok"
        } catch let error as ModuleRuntimeError {
            return (error.cause as? WapcError).map { "\($0.code)" } ?? "\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    @Test func aModuleRunsInlineAfterItsStreakOfShortCalls() async throws {
        try await withRuntime { runtime, complex, _ in
            var ranInline: [Bool] = []
            for _ in 0..<5 { ranInline.append(try await mul(runtime, complex).ranInline) }
            #expect(ranInline == [false, false, false, true, true])
            #expect(runtime.inlineCallCount == 2)
            #expect(runtime.pendingWork == 0)
        }
    }

    /// `invokeNow` (direct calls): nothing runs until the module's streak is there; then the call
    /// runs on this thread, under the same bar as other inline calls; an unknown function or bad
    /// parameters fail as through `invoke`.
    @Test func invokeNowRunsOnlyWhatMayRunInline() async throws {
        try await withRuntime { runtime, complex, hostile in
            let parameters = Array(try complexRequest((1, 2), (3, 4)).value)
            let ready = try #require(runtime.readyFunction("mul", of: complex))
            #expect(runtime.readyFunction("pow", of: complex) == nil)
            #expect(runtime.readyFunction("mul", of: ModuleID(of: [1])) == nil)  // not loaded
            #expect(try runtime.invokeNow(ready, typeURL: "", parameters: parameters, deadline: nil) == nil)
            #expect(runtime.inlineCallCount == 0)
            for _ in 0..<3 { _ = try await mul(runtime, complex) }
            let invocation = try #require(try runtime.invokeNow(ready, typeURL: "", parameters: parameters, deadline: nil))
            #expect(invocation.ranInline)
            #expect(runtime.inlineCallCount == 1)
            let (real, imag) = try complexResult(Google_Protobuf_Any.with { $0.typeURL = invocation.typeURL; $0.value = Data(invocation.output) })
            #expect(real == -5 && imag == 10)
            #expect(throws: ModuleRuntimeError.self) { try runtime.invokeNow(ready, typeURL: "", parameters: [0x0A, 0xFF], deadline: nil) }
            #expect(throws: ModuleRuntimeError.self) { try runtime.invokeNow(ready, typeURL: "x.Other", parameters: parameters, deadline: nil) }
            // A loop on this thread bars its module: later calls are not taken (nil), and go to workers.
            for _ in 0..<3 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            let loop = try #require(runtime.readyFunction(String(repeating: "x", count: 8), of: hostile))
            #expect(throws: ModuleRuntimeError.self) { try runtime.invokeNow(loop, typeURL: "", parameters: [], deadline: nil) }
            let short = try #require(runtime.readyFunction(String(repeating: "x", count: 15), of: hostile))
            for _ in 0..<4 { #expect(try runtime.invokeNow(short, typeURL: "", parameters: [], deadline: nil) == nil) }
        }
    }

    @Test func addLeavesTheInstanceThatValidatedTheModuleWarm() async throws {
        try await withRuntime { runtime, complex, _ in
            // One idle instance per added module, before any call.
            #expect(runtime.idleInstanceCount == 2)
            _ = try await mul(runtime, complex)
            #expect(runtime.idleInstanceCount == 2)
        }
    }

    /// Six calls of mul under `configure`, none of which may run inline.
    func expectNoInlineCalls(_ configure: (inout RuntimeConfiguration) -> Void) async throws {
        try await withRuntime(configure) { runtime, complex, _ in
            for _ in 0..<6 {
                let invocation = try await mul(runtime, complex)
                #expect(!invocation.ranInline)
            }
            #expect(runtime.inlineCallCount == 0)
        }
    }

    @Test func callsOverTheFuelBoundNeverRunInline() async throws {
        try await expectNoInlineCalls { $0.inlineFuel = 1_000 }  // mul uses about 15,000 fuel
    }

    @Test func zeroInlineCallsMeansEveryCallGoesToAWorker() async throws {
        try await expectNoInlineCalls { $0.inlineCalls = 0 }
    }

    @Test func aCallThatLoopsOnTheCallersThreadBarsItsModuleEvenAfterEviction() async throws {
        try await withRuntime({ $0.loadedModules = 1 }) { runtime, complex, hostile in
            for _ in 0..<3 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            let before = runtime.inlineCallCount
            // Promoted: the loop runs on this thread until its fuel runs out.
            #expect(await hostileCase(runtime, hostile, 8) == "outOfFuel")
            #expect(runtime.inlineCallCount == before + 1)
            for _ in 0..<6 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            #expect(runtime.inlineCallCount == before + 1)
            // Loading another module evicts it (one loaded module); loaded again, it stays barred.
            _ = try await mul(runtime, complex)
            #expect(runtime.loadedModuleCount == 1)
            for _ in 0..<6 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            #expect(runtime.inlineCallCount == before + 1)
        }
    }

    @Test func aLongCallOnAWorkerRestartsTheStreak() async throws {
        try await withRuntime { runtime, _, hostile in
            for _ in 0..<2 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            #expect(await hostileCase(runtime, hostile, 8) == "outOfFuel")  // on a worker: not promoted yet
            for _ in 0..<3 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            #expect(runtime.inlineCallCount == 0)
            // Three short calls in a row again: promoted, not barred.
            #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput")
            #expect(runtime.inlineCallCount == 1)
        }
    }

    @Test func noMoreCallsRunInlineAtOnceThanConfigured() async throws {
        let hold = Hold()
        let configure = { (configuration: inout RuntimeConfiguration) in
            configuration.inlineStreak = 3
            configuration.inlineDuration = .seconds(60)
            configuration.workerThreads = 2
            configuration.maxInstancesPerModule = 2
            // The held calls last as long as the test takes to see them held: their deadline must
            // not be what ends them on a busy machine (the hold itself gives up after 60 s).
            configuration.wapc.timeout = .seconds(120)
        }
        try await withFreshRuntime(configure, capabilities: ["hold": hold]) { runtime in
            defer { hold.release(100) }  // whatever a failed test left blocked, before the runtime shuts down
            let holder = try await addNothingModule(runtime, wat: TestGuests.holdWat)
            let held = { @Sendable in try await runtime.invoke(module: holder, function: "run", typeURL: "", parameters: []).ranInline }
            hold.release(3)
            for _ in 0..<3 {
                let ranInline = try await held()
                #expect(!ranInline)
            }
            // Two calls of a promoted module at once: one holds this runtime's only inline slot (and
            // a cooperative thread) in its host call, so the other goes to a worker.
            async let first = held()
            async let second = held()
            try await eventually { runtime.inlineCallCount == 1 && runtime.pendingWork == 1 }
            #expect(runtime.inlineCallCount == 1)
            #expect(runtime.pendingWork == 1)
            hold.release(2)
            let ranInline = [try await first, try await second]
            #expect(ranInline.sorted { !$0 && $1 } == [false, true])
        }
    }

    @Test func deepRecursionOnTheCallersThreadTrapsLikeOnAWorker() async throws {
        try await withRuntime { runtime, _, hostile in
            for _ in 0..<3 { #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput") }
            #expect(await hostileCase(runtime, hostile, 10) == "trapped")
            #expect(runtime.inlineCallCount == 1)
            #expect(await hostileCase(runtime, hostile, 15) == "invalidOutput")
        }
    }
}
