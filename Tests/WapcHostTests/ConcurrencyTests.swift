import Foundation
import Dispatch
import Synchronization
import Testing
@testable import WapcHost

@Suite(.timeLimit(.minutes(10))) struct ConcurrencyTests {
    static func request(_ index: Int) -> (payload: [UInt8], expected: ComplexNumber) {
        let a = ComplexNumber(real: Float(index % 97) - 48, imag: Float(index % 13) / 4)
        let b = ComplexNumber(real: Float(index % 7) + 0.5, imag: -Float(index % 31))
        return (message([(1, a.encoded), (2, b.encoded)]), a * b)
    }

    @Test func thousandSequentialCallsOnOneInstanceAreAllRight() throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm"), router: HostCallRouter())
            .instantiate(configuration: .quiet, router: HostCallRouter())
        for index in 0..<1_000 {
            let (payload, expected) = Self.request(index)
            let result = try instance.invoke(operation: "mul", payload: payload)
            #expect(decodeResponse(result) == expected, "call \(index)")
        }
    }

    @Test func eightThreadsTimesThousandCallsShareOnePool() throws {
        let module = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm"), router: HostCallRouter())
        let pool = InstancePool(module: module, configuration: .quiet, router: HostCallRouter(), maxInstances: 4, acquireTimeout: .seconds(30))
        let wrong = Atomic<Int>(0)
        let failed = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for call in 0..<1_000 {
                let (payload, expected) = Self.request(thread * 1_000 + call)
                do {
                    let result = try pool.invoke(operation: "mul", payload: payload)
                    if decodeResponse(result) != expected { wrong.add(1, ordering: .relaxed) }
                } catch {
                    failed.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect(failed.withLock { $0 }.isEmpty)
        let counts = pool.counts
        #expect(counts.live <= 4)
        #expect(counts.live == counts.idle)
    }

    @Test func aFullPoolMakesCallersWaitThenFailAndRecovers() throws {
        let module = try Fixtures.load(Fixtures.wat("wapc-abi.wat"))
        let pool = InstancePool(module: module, configuration: .quiet, maxInstances: 1, acquireTimeout: .milliseconds(50))
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let holder = Thread {
            _ = try? pool.withInstance { _ throws(WapcError) in
                holding.signal()
                release.wait()
            }
            done.signal()
        }
        holder.start()
        holding.wait()
        let error = wapcError { _ = try pool.invoke(operation: "echo", payload: [1]) }
        #expect(error?.code == .poolExhausted)
        release.signal()
        done.wait()
        #expect(try pool.invoke(operation: "echo", payload: [1]) == [1])
    }
}

@Suite(.timeLimit(.minutes(10))) struct IdleInstanceBudgetTests {
    @Test func poolsSharingABudgetKeepNoMoreIdleInstancesThanIt() throws {
        let module = try Fixtures.load(Fixtures.wat("wapc-abi.wat"))
        let budget = IdleInstanceBudget(limit: 1)
        var first: InstancePool? = InstancePool(module: module, configuration: .quiet, idleBudget: budget)
        let second = InstancePool(module: module, configuration: .quiet, idleBudget: budget)
        try first?.withInstance { _ throws(WapcError) in }
        #expect(first?.counts.idle == 1 && budget.count == 1)
        // The budget is spent: the second pool's instance is dropped after its call.
        try second.withInstance { _ throws(WapcError) in }
        #expect(second.counts == (0, 0) && budget.count == 1)
        // Reusing the idle instance frees its place while it runs, and takes it back after.
        try first?.withInstance { _ throws(WapcError) in #expect(budget.count == 0) }
        #expect(budget.count == 1)
        // A pool that goes away gives its idle instances' places back.
        first = nil
        #expect(budget.count == 0)
        try second.withInstance { _ throws(WapcError) in }
        #expect(second.counts == (1, 1) && budget.count == 1)
    }

    @Test func aPoolServesItsFirstCallWithTheInstanceThatValidatedTheModule() throws {
        let (module, trial) = try WapcModule.loadKeepingInstance(
            bytes: Fixtures.bytes("Guests/complex/complex.wasm"), configuration: .quiet, router: HostCallRouter())
        let budget = IdleInstanceBudget(limit: 1)
        let pool = InstancePool(module: module, configuration: .quiet, router: HostCallRouter(), idleBudget: budget)
        pool.adopt(trial)
        #expect(pool.counts == (1, 1) && budget.count == 1)
        let (payload, expected) = ConcurrencyTests.request(7)
        let used = try pool.withInstance { instance throws(WapcError) in
            #expect(decodeResponse(try instance.invoke(operation: "mul", payload: payload)) == expected)
            return instance === trial
        }
        #expect(used)
        #expect(pool.counts == (1, 1))
        // A spent budget keeps no adopted instance either.
        let other = InstancePool(module: module, configuration: .quiet, router: HostCallRouter(), idleBudget: budget)
        other.adopt(try WapcModule.loadKeepingInstance(bytes: Fixtures.bytes("Guests/complex/complex.wasm"), configuration: .quiet).instance)
        #expect(other.counts == (0, 0))
    }
}
