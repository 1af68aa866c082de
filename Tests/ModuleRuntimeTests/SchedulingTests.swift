import Dispatch
import ContentStore
import Foundation
import SwiftProtobuf
import Testing
import WAT
import WapcHost

@testable import ModuleRuntime
import WasmRPCCore
import TestSupport

/// How calls wait: for one of their module's instances (`CallGate`, off the workers), then for a
/// worker thread (bounded queue). No test here depends on the machine's speed: a "held" call blocks
/// in a host call until the test releases it, so it holds its worker exactly as long as the test says.
@Suite(.timeLimit(.minutes(10))) struct SchedulingTests {
    struct Fixture {
        let runtime: ModuleRuntime
        let complex: ModuleID
        let holder: ModuleID
        let hold: Hold
    }

    /// Runs `body` with a runtime holding the complex module and the hold module, both loaded;
    /// calls may run 60 s.
    func withRuntime(_ configure: (inout RuntimeConfiguration) -> Void, _ body: (Fixture) async throws -> Void) async throws {
        let hold = Hold()
        let settings = { (configuration: inout RuntimeConfiguration) in
            configuration.wapc.timeout = .seconds(60)
            configuration.inlineCalls = 0  // these tests are about the workers (InlineCallTests: the other way)
            configure(&configuration)
        }
        try await withFreshRuntime(settings, capabilities: ["hold": hold]) { runtime in
            defer { hold.release(100) }  // whatever a failed test left blocked, before the runtime shuts down
            let complex = try await runtime.add(wasm: complexWasm, descriptorSet: try complexDescriptor.serializedBytes(), name: "").record.id
            let holder = try await addNothingModule(runtime, wat: TestGuests.holdWat)
            let fixture = Fixture(runtime: runtime, complex: complex, holder: holder, hold: hold)
            // Both modules loaded, so that no loading job takes a worker later.
            _ = try await mul(fixture)
            hold.release()
            #expect(await held(fixture).0 == .ok)
            try await body(fixture)
        }
    }

    func mul(_ fixture: Fixture, deadline: ContinuousClock.Instant? = nil) async throws -> Invocation {
        try await fixture.runtime.invoke(
            module: fixture.complex, function: "mul", typeURL: "", parameters: Array(try complexRequest((1, 2), (3, 4)).value), deadline: deadline)
    }

    /// How a call ended, in the terms of the status it would get, with the error's message.
    enum Outcome: Equatable {
        case ok, deadlineExceeded, overloaded, cancelled
        case other(String)
    }

    static func outcome(_ call: () async throws -> Invocation) async -> (Outcome, message: String) {
        do {
            _ = try await call()
            return (.ok, "")
        } catch let error as ModuleRuntimeError where error.code == .deadlineExceeded {
            return (.deadlineExceeded, error.message)
        } catch let error as ModuleRuntimeError where error.code == .overloaded {
            return (.overloaded, error.message)
        } catch is CancellationError {
            return (.cancelled, "")
        } catch {
            return (.other("\(error)"), "\(error)")
        }
    }

    /// A call of the hold module: it blocks until released.
    func held(_ fixture: Fixture, deadline: ContinuousClock.Instant? = nil) async -> (Outcome, message: String) {
        await Self.outcome { try await fixture.runtime.invoke(module: fixture.holder, function: "run", typeURL: "", parameters: [], deadline: deadline) }
    }

    func counts(_ fixture: Fixture) -> (running: Int, waiting: Int)? {
        fixture.runtime.callCounts(of: fixture.holder)
    }

    @Test func aModuleHoldingItsInstanceLeavesTheOtherWorkerToOtherModules() async throws {
        try await withRuntime({ $0.workerThreads = 2 }) { fixture in
            #expect(fixture.runtime.configuration.instancesPerModule == 1)  // half of two workers
            async let first = held(fixture)
            async let second = held(fixture)
            try await eventually { counts(fixture).map { $0 == (1, 1) } ?? false }
            // One call holds a worker and the module's only instance; the other waits off the
            // workers, so the second worker serves the other module.
            for _ in 0..<20 { _ = try await mul(fixture) }
            #expect(counts(fixture).map { $0 == (1, 1) } ?? false)
            fixture.hold.release(2)
            let outcomes = await [first.0, second.0]
            #expect(outcomes == [.ok, .ok])
            #expect(counts(fixture).map { $0 == (0, 0) } ?? false)
        }
    }

    @Test func callersBeyondAModulesInstancesWaitUpToTheirDeadlineOrMaxWait() async throws {
        try await withRuntime({ $0.maxInstancesPerModule = 1; $0.maxWait = .milliseconds(500) }) { fixture in
            async let holder = held(fixture)
            try await eventually { counts(fixture)?.running == 1 }
            // A caller whose deadline passes while it waits for the instance.
            let impatient = await held(fixture, deadline: .now + .milliseconds(100))
            #expect(impatient.0 == .deadlineExceeded)
            #expect(impatient.message.contains("waited for one of the module's 1 instances"), "\(impatient)")
            // One without a deadline gives up after --max-wait.
            let patient = await held(fixture)
            #expect(patient.0 == .overloaded && patient.message.contains("stayed busy"), "\(patient)")
            fixture.hold.release()
            #expect(await holder.0 == .ok)
            #expect(counts(fixture).map { $0 == (0, 0) } ?? false)
        }
    }

    @Test func theWorkerQueueIsBoundedAndQueuedCallsKeepTheirDeadline() async throws {
        try await withRuntime({ $0.workerThreads = 1; $0.maxQueuedCalls = 1; $0.maxInstancesPerModule = 4 }) { fixture in
            async let holder = held(fixture)  // holds the only worker
            try await eventually { fixture.runtime.pendingWork == 1 }
            // One call may wait for the worker; its 100 ms deadline passes in the queue.
            async let queued = Self.outcome { try await mul(fixture, deadline: .now + .milliseconds(100)) }
            try await eventually { fixture.runtime.pendingWork == 2 }
            // A third finds the queue full.
            let refused = await Self.outcome { try await mul(fixture) }
            #expect(refused.0 == .overloaded && refused.message.contains("busy"), "\(refused)")
            try await Task.sleep(for: .milliseconds(150))  // the queued call's deadline is behind it now
            fixture.hold.release()
            let late = await queued
            #expect(late.0 == .deadlineExceeded && late.message.contains("waited for a worker"), "\(late)")
            #expect(await holder.0 == .ok)
            _ = try await mul(fixture)  // the worker serves again
        }
    }

    @Test func aCallWithoutDeadlineWaitsForAWorkerAtMostMaxWaitAndAnAbandonedOneNeverRuns() async throws {
        try await withRuntime({ $0.workerThreads = 1; $0.maxInstancesPerModule = 4; $0.maxWait = .milliseconds(200) }) { fixture in
            async let holder = held(fixture)  // holds the only worker
            try await eventually { fixture.runtime.pendingWork == 1 }
            async let patient = Self.outcome { try await mul(fixture) }
            let abandoned = Task { try await mul(fixture) }
            try await eventually { fixture.runtime.pendingWork == 3 }
            abandoned.cancel()
            try await Task.sleep(for: .milliseconds(300))  // the patient call has waited past --max-wait
            fixture.hold.release()
            // The abandoned job reaches the worker, sees the cancellation and does not run.
            await #expect(throws: CancellationError.self) { try await abandoned.value }
            let waited = await patient
            #expect(waited.0 == .overloaded && waited.message.contains("waited more than"), "\(waited)")
            #expect(await holder.0 == .ok)
        }
    }

    @Test func theRuntimeKeepsIdleInstancesWithinItsBudget() async throws {
        for budget in [0, 1] {
            try await withRuntime({ $0.maxIdleInstances = budget }) { fixture in
                _ = try await mul(fixture)
                _ = try await mul(fixture)
                #expect(fixture.runtime.idleInstanceCount == budget)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct CallGateTests {
    struct Expired: Error {}

    @Test func admitsInArrivalOrderUpToTheLimit() async throws {
        let gate = CallGate(limit: 1)
        try await gate.enter(until: .now + .seconds(30)) { Expired() }
        let order = Recorder<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<3 {
                group.addTask {
                    try await gate.enter(until: .now + .seconds(30)) { Expired() }
                    order.append(n)
                    gate.leave()
                }
                // Each waiter queues before the next one is started.
                try await eventually { gate.counts.waiting == n + 1 }
            }
            #expect(gate.counts == (1, 3))
            gate.leave()
            try await group.waitForAll()
        }
        #expect(order.values == [0, 1, 2])
        #expect(gate.counts == (0, 0))
    }

    @Test func waitersExpireAtTheirOwnBoundsWhateverTheirOrder() async throws {
        let gate = CallGate(limit: 1)
        try await gate.enter(until: .now + .seconds(30)) { Expired() }
        struct Expired2: Error {}
        struct Expired3: Error {}
        let first = Task { try await gate.enter(until: .now + .seconds(30)) { Expired() } }
        try await eventually { gate.counts.waiting == 1 }
        // Later arrivals with earlier bounds: each fails at its own bound, the first keeps waiting.
        await #expect(throws: Expired2.self) { try await gate.enter(until: .now + .milliseconds(30)) { Expired2() } }
        let third = Task { try await gate.enter(until: .now + .milliseconds(60)) { Expired3() } }
        await #expect(throws: Expired3.self) { try await third.value }
        #expect(gate.counts == (1, 1))
        gate.leave()
        try await first.value
        #expect(gate.counts == (1, 0))
    }

    @Test func aWaiterLeavesAtItsBoundOrWhenCancelled() async throws {
        let gate = CallGate(limit: 1)
        try await gate.enter(until: .now + .seconds(30)) { Expired() }
        await #expect(throws: Expired.self) {
            try await gate.enter(until: .now + .milliseconds(20)) { Expired() }
        }
        let waiter = Task { try await gate.enter(until: .now + .seconds(30)) { Expired() } }
        try await eventually { gate.counts.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.counts == (1, 0))
        gate.leave()
        // The slot is free again: entering does not wait.
        try await gate.enter(until: .now) { Expired() }
        #expect(gate.counts == (1, 0))
    }
}
