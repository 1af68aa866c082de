import Foundation
import Dispatch
import Synchronization
import Testing
@testable import WapcHost

/// Tests/Fixtures/hostile.wat: each case must end in its own error code, the process survives, and
/// the next call on the same pool succeeds on a fresh instance.
@Suite(.timeLimit(.minutes(10))) struct HostileGuestTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let number: Int
        let expected: WapcError.Code
        let what: String
        var testDescription: String { "\(number): \(what) → \(expected)" }
        var operation: String { String(repeating: "x", count: number) }
    }

    static let cases: [Case] = [
        Case(number: 1, expected: .guestFault, what: "__guest_request to a pointer near 4 GiB"),
        Case(number: 2, expected: .guestFault, what: "__guest_response past the end of memory"),
        Case(number: 3, expected: .guestFault, what: "__host_call with payload pointer -1"),
        Case(number: 4, expected: .guestFault, what: "__console_log past the end of memory"),
        Case(number: 5, expected: .guestFault, what: "__guest_response twice"),
        Case(number: 6, expected: .guestFault, what: "__host_response without a pending response"),
        Case(number: 7, expected: .trapped, what: "unreachable"),
        Case(number: 8, expected: .outOfFuel, what: "infinite loop"),
        Case(number: 9, expected: .memoryLimit, what: "memory.grow bomb"),
        Case(number: 10, expected: .trapped, what: "unbounded recursion"),
        Case(number: 11, expected: .limitExceeded, what: "response larger than the cap"),
        Case(number: 12, expected: .limitExceeded, what: "host calls forever"),
        Case(number: 13, expected: .trapped, what: "division by zero"),
        Case(number: 14, expected: .guestFault, what: "__guest_error with ptr+len wrapping 32 bits"),
    ]

    /// The loop ends by fuel: a deadline short enough to end it would also end the other cases
    /// on a busy machine (`manyLoopingCallsAtOnceAllStopAtTheirDeadline` runs loops alone under one).
    static var configuration: WapcConfiguration {
        var configuration = WapcConfiguration.quiet
        configuration.timeout = .seconds(60)
        configuration.fuel = 5_000_000
        configuration.memoryLimit = 4 << 20
        configuration.maxResponseBytes = 1_000
        return configuration
    }

    /// A dropped instance must take its store (and linear memory) with it, whatever its last call
    /// did. The store's host functions hold the instance's `CallState`, so the state outliving the
    /// instance means the store leaked — as every store of a module with host imports once did,
    /// through a reference cycle (store → host functions → call state → memory → store).
    @Test(arguments: cases + [Case(number: 15, expected: .guestFault, what: "a well-behaved call")])
    func aDroppedInstanceFreesItsStore(_ hostile: Case) throws {
        let module = try Fixtures.load(Fixtures.wat("hostile.wat"), configuration: Self.configuration)
        // The deadline watchdog's thread may hold a store for the length of one scan (it copies the
        // armed slots), so the last reference can go a moment after the instance: wait for it, bounded.
        func freed(_ state: () -> CallState?) -> Bool {
            let end = ContinuousClock.now + .seconds(60)  // bounds a leak, not the machine's speed
            while state() != nil, ContinuousClock.now < end { usleep(1_000) }
            return state() == nil
        }
        weak var state: CallState?
        do {
            let instance = try module.instantiate(configuration: Self.configuration)
            state = instance.state
            _ = try? instance.invoke(operation: hostile.operation, payload: [])
        }
        #expect(freed { state }, "the store of an instance that ran case \(hostile.number) was not freed")
        // Also one that never ran a call.
        do {
            let instance = try module.instantiate(configuration: Self.configuration)
            state = instance.state
        }
        #expect(freed { state })
    }

    @Test(arguments: cases)
    func hostileCallFailsCleanlyAndThePoolRecovers(_ hostile: Case) throws {
        let module = try Fixtures.load(Fixtures.wat("hostile.wat"), configuration: Self.configuration)
        let pool = InstancePool(module: module, configuration: Self.configuration, maxInstances: 1)
        let error = wapcError { _ = try pool.invoke(operation: hostile.operation, payload: []) }
        #expect(error?.code == hostile.expected, "\(error.map { "\($0)" } ?? "no error")")
        #expect(pool.counts.live == 0, "a failed instance is never reused")
        #expect(try pool.invoke(operation: String(repeating: "x", count: 15), payload: []) == Array("fine".utf8))
    }

    @Test func aFailedInstanceRefusesFurtherCalls() throws {
        let instance = try Fixtures.load(Fixtures.wat("hostile.wat")).instantiate(configuration: Self.configuration)
        #expect(wapcError { _ = try instance.invoke(operation: "xxxxxxx", payload: []) }?.code == .trapped)
        let error = wapcError { _ = try instance.invoke(operation: String(repeating: "x", count: 15), payload: []) }
        #expect(error?.code == .trapped)
        #expect(error?.message.contains("discarded") == true)
    }

    @Test func fuelStopsALoopWhenTheDeadlineIsFarAway() throws {
        var configuration = Self.configuration
        configuration.timeout = .seconds(60)
        configuration.fuel = 1_000_000
        let instance = try Fixtures.load(Fixtures.wat("hostile.wat"), configuration: configuration).instantiate(configuration: configuration)
        #expect(wapcError { _ = try instance.invoke(operation: "xxxxxxxx", payload: []) }?.code == .outOfFuel)
    }

    @Test func manyLoopingCallsAtOnceAllStopAtTheirDeadline() throws {
        var configuration = Self.configuration
        configuration.timeout = .milliseconds(100)
        configuration.fuel = nil  // only the deadline can stop the loop
        let module = try Fixtures.load(Fixtures.wat("hostile.wat"), configuration: configuration)
        let pool = InstancePool(module: module, configuration: configuration, maxInstances: 4, acquireTimeout: .seconds(30))
        let codes = Mutex<[WapcError.Code]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let code = wapcError { _ = try pool.invoke(operation: "xxxxxxxx", payload: []) }?.code
            codes.withLock { $0.append(code ?? .guestError) }
        }
        #expect(codes.withLock { $0 } == Array(repeating: .deadlineExceeded, count: 4))
    }
}
