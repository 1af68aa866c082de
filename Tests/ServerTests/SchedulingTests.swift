import ContentStore
import Foundation
import SwiftProtobuf
import Synchronization
import Testing
import WapcHost

@testable import ModuleRuntime

/// How calls wait: for one of their module's instances (`CallGate`, off the workers), then for a
/// worker thread (bounded queue). A module stuck in a loop holds at most its own instances.
@Suite struct SchedulingTests {
    static let nothing = descriptorSet(package: "loop", messages: ["Nothing": []], services: [("Loop", [("run", "Nothing", "Nothing")])])

    /// Runs `body` with a runtime holding the complex module and `Tests/Fixtures/loop.wat`.
    func withRuntime(
        _ configure: (inout RuntimeConfiguration) -> Void, _ body: (ModuleRuntime, _ complex: ModuleID, _ loop: ModuleID) async throws -> Void
    ) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = RuntimeConfiguration()
        configure(&configuration)
        let runtime = ModuleRuntime(store: try ContentStore(directory: directory), configuration: configuration)
        let complex = try await runtime.add(wasm: complexWasm, descriptorSet: try complexDescriptor.serializedBytes(), name: "").record.id
        let loop = try await runtime.add(wasm: try fixture("Tests/Fixtures/loop.wat"), descriptorSet: try Self.nothing.serializedBytes(), name: "")
            .record.id
        try await body(runtime, complex, loop)
        await runtime.shutdown()
    }

    /// Waits (bounded) until `condition` holds.
    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        try #require(condition())
    }

    func mul(_ runtime: ModuleRuntime, _ id: ModuleID, deadline: ContinuousClock.Instant? = nil) async throws -> Invocation {
        try await runtime.invoke(
            module: id, function: "mul", typeURL: "", parameters: Array(try complexRequest((1, 2), (3, 4)).value), deadline: deadline)
    }

    /// How a call ended, in the terms of the status it would get.
    enum Outcome: Equatable {
        case ok, deadlineExceeded, overloaded
        case other(String)
    }

    /// Calls the looping module: how it ended, and the error's message.
    func spin(_ runtime: ModuleRuntime, _ id: ModuleID, deadline: ContinuousClock.Instant? = nil) async -> (Outcome, message: String) {
        do {
            _ = try await runtime.invoke(module: id, function: "run", typeURL: "", parameters: [], deadline: deadline)
            return (.ok, "")
        } catch let error as WapcError where error.code == .deadlineExceeded || error.code == .outOfFuel {
            return (.deadlineExceeded, error.message)
        } catch let error as ModuleRuntimeError where error.code == .deadlineExceeded {
            return (.deadlineExceeded, error.message)
        } catch let error as ModuleRuntimeError where error.code == .overloaded {
            return (.overloaded, error.message)
        } catch {
            return (.other("\(error)"), "\(error)")
        }
    }

    /// Loads both modules, so that no loading job takes a worker later.
    func preload(_ runtime: ModuleRuntime, _ complex: ModuleID, _ loop: ModuleID) async throws {
        _ = try await mul(runtime, complex)
        _ = await spin(runtime, loop, deadline: .now + .milliseconds(10))
    }

    @Test func aLoopingModuleHoldsOnlyItsOwnInstancesWhileOthersRun() async throws {
        // Two workers, so one instance per module by default.
        try await withRuntime({ $0.workerThreads = 2; $0.wapc.timeout = .seconds(2) }) { runtime, complex, loop in
            #expect(runtime.configuration.instancesPerModule == 1)
            try await preload(runtime, complex, loop)
            // Whichever runs first holds the instance for 1 s or 2 s; the other then either times out
            // waiting (its 1 s deadline) or runs out its own deadline: DEADLINE_EXCEEDED both ways.
            async let first = spin(runtime, loop, deadline: .now + .seconds(1))
            async let second = spin(runtime, loop)
            try await eventually { runtime.callCounts(of: loop).map { $0 == (1, 1) } ?? false }
            // The second looping call waits for the module's only instance, not on a worker, so the
            // other worker is free for other modules.
            for _ in 0..<20 { _ = try await mul(runtime, complex) }
            let counts = try #require(runtime.callCounts(of: loop))
            #expect(counts == (1, 1), "the loops finished before the other module's calls: the test proves nothing")
            let outcomes = await [first.0, second.0]
            #expect(outcomes == [.deadlineExceeded, .deadlineExceeded])
        }
    }

    @Test func callersBeyondAModulesInstancesWaitUpToTheirDeadlineOrMaxWait() async throws {
        try await withRuntime({ $0.maxInstancesPerModule = 1; $0.wapc.timeout = .seconds(1); $0.maxWait = .seconds(1) }) { runtime, complex, loop in
            try await preload(runtime, complex, loop)
            // The first call holds the instance for 300 ms (its deadline).
            async let holder = spin(runtime, loop, deadline: .now + .milliseconds(300))
            try await eventually { runtime.callCounts(of: loop)?.running == 1 }
            // Two callers without a deadline queue behind it: the first gets the instance after 300 ms
            // and keeps it for the 1 s timeout; the second gives up after its 1 s --max-wait first.
            async let queued1 = spin(runtime, loop)
            async let queued2 = spin(runtime, loop)
            // And one whose 100 ms deadline passes while it waits.
            try await eventually { runtime.callCounts(of: loop)?.waiting == 2 }
            let impatient = await spin(runtime, loop, deadline: .now + .milliseconds(100))
            #expect(impatient.0 == .deadlineExceeded)
            #expect(impatient.message.contains("waited for one of the module's 1 instances"), "\(impatient)")
            #expect(await holder.0 == .deadlineExceeded)
            let results = await [queued1, queued2]
            #expect(results.filter { $0.0 == .deadlineExceeded }.count == 1, "\(results)")
            #expect(results.filter { $0.0 == .overloaded && $0.message.contains("stayed busy") }.count == 1, "\(results)")
            #expect(runtime.callCounts(of: loop).map { $0 == (0, 0) } ?? false)
        }
    }

    @Test func theWorkerQueueIsBoundedAndQueuedCallsKeepTheirDeadline() async throws {
        try await withRuntime({ $0.workerThreads = 1; $0.maxQueuedCalls = 1; $0.maxInstancesPerModule = 4; $0.wapc.timeout = .seconds(1) }) {
            runtime, complex, loop in
            try await preload(runtime, complex, loop)
            // The looping call holds the only worker for 1 s.
            async let holder = spin(runtime, loop)
            try await eventually { runtime.pendingWork == 1 }
            // One call may wait for the worker; its 100 ms deadline passes in the queue.
            async let queued: Error? = {
                do {
                    _ = try await mul(runtime, complex, deadline: .now + .milliseconds(100))
                    return nil
                } catch { return error }
            }()
            try await eventually { runtime.pendingWork == 2 }
            // A third finds the queue full.
            await #expect {
                _ = try await mul(runtime, complex)
            } throws: { error in
                (error as? ModuleRuntimeError)?.code == .overloaded && "\(error)".contains("busy")
            }
            let late = try #require(await queued as? ModuleRuntimeError)
            #expect(late.code == .deadlineExceeded && late.message.contains("waited for a worker"), "\(late)")
            #expect(await holder.0 == .deadlineExceeded)
            // Once the worker is free, calls run again.
            _ = try await mul(runtime, complex)
        }
    }
}

@Suite struct CallGateTests {
    struct Expired: Error {}

    final class Recorder: Sendable {
        private let state = Mutex<[Int]>([])
        var values: [Int] { state.withLock { $0 } }
        func append(_ value: Int) { state.withLock { $0.append(value) } }
    }

    @Test func admitsInArrivalOrderUpToTheLimit() async throws {
        let gate = CallGate(limit: 1)
        try await gate.enter(until: .now + .seconds(30)) { Expired() }
        let order = Recorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<3 {
                group.addTask {
                    try await gate.enter(until: .now + .seconds(30)) { Expired() }
                    order.append(n)
                    gate.leave()
                }
                // Each waiter queues before the next one is started.
                for _ in 0..<2_000 where gate.counts.waiting < n + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(gate.counts == (1, 3))
            gate.leave()
            try await group.waitForAll()
        }
        #expect(order.values == [0, 1, 2])
        #expect(gate.counts == (0, 0))
    }

    @Test func aWaiterLeavesAtItsBoundOrWhenCancelled() async throws {
        let gate = CallGate(limit: 1)
        try await gate.enter(until: .now + .seconds(30)) { Expired() }
        await #expect(throws: Expired.self) {
            try await gate.enter(until: .now + .milliseconds(20)) { Expired() }
        }
        let waiter = Task { try await gate.enter(until: .now + .seconds(30)) { Expired() } }
        for _ in 0..<2_000 where gate.counts.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.counts == (1, 0))
        gate.leave()
        // The slot is free again: entering does not wait.
        try await gate.enter(until: .now) { Expired() }
        #expect(gate.counts == (1, 0))
    }
}

extension SchedulingTests {
    @Test func aCallWithoutDeadlineWaitsForAWorkerAtMostMaxWaitAndAnAbandonedOneNeverRuns() async throws {
        try await withRuntime({ $0.workerThreads = 1; $0.maxInstancesPerModule = 4; $0.wapc.timeout = .seconds(1); $0.maxWait = .milliseconds(200) }) {
            runtime, complex, loop in
            try await preload(runtime, complex, loop)
            async let holder = spin(runtime, loop)  // holds the only worker for 1 s
            try await eventually { runtime.pendingWork == 1 }
            async let patient: Error? = {
                do {
                    _ = try await mul(runtime, complex)
                    return nil
                } catch { return error }
            }()
            let abandoned = Task { try await mul(runtime, complex) }
            try await eventually { runtime.pendingWork == 3 }
            abandoned.cancel()
            // Its job reaches the worker after the loop, sees the cancellation and does not run.
            await #expect(throws: CancellationError.self) { try await abandoned.value }
            let waited = try #require(await patient as? ModuleRuntimeError)
            #expect(waited.code == .overloaded && waited.message.contains("waited more than"), "\(waited)")
            #expect(await holder.0 == .deadlineExceeded)
        }
    }

    @Test func theRuntimeKeepsIdleInstancesWithinItsBudget() async throws {
        for budget in [0, 1] {
            try await withRuntime({ $0.maxIdleInstances = budget }) { runtime, complex, _ in
                _ = try await mul(runtime, complex)
                _ = try await mul(runtime, complex)
                #expect(runtime.idleInstanceCount == budget)
            }
        }
    }
}
