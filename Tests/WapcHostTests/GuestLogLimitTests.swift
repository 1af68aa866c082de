import Foundation
import Logging
import TestSupport
import Synchronization
import Testing
import WAT
@testable import WapcHost

/// A guest cannot flood the server's log: each call writes at most `maxLogLinesPerCall` lines, and
/// a module at most `logLinesPerSecond` (its instances together), counting `__console_log` and
/// host calls to a capability that logs. The rest are dropped; the calls themselves succeed.
@Suite(.timeLimit(.minutes(10))) struct GuestLogLimitTests {
    /// A logging capability that counts the lines it is asked to write.
    final class CountingLog: HostCapability {
        let lines = Atomic<Int>(0)
        var writesLog: Bool { true }
        func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
            lines.add(1, ordering: .relaxed)
            return []
        }
    }

    /// Each call logs 500 times through `wasmrpc:log` and 500 times with `__console_log`.
    static let flood = """
        (module
          (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__console_log" (func $console (param i32 i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "wasmrpc:loghello")
          (func (export "__guest_call") (param i32 i32) (result i32) (local $i i32)
            (loop $l
              (drop (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 5)))
              (call $console (i32.const 11) (i32.const 5))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 500))))
            (call $respond (i32.const 0) (i32.const 0))
            (i32.const 1)))
        """

    /// Runs `calls` calls of the flood guest on one instance; returns the lines that reached the
    /// log capability and the console output, and how long the calls took.
    func flood(calls: Int, _ configure: (inout WapcConfiguration) -> Void) throws -> (host: Int, console: Int, seconds: Double) {
        let counter = CountingLog()
        let console = Atomic<Int>(0)
        var router = HostCallRouter()
        router.register(counter, namespace: "wasmrpc:log")
        var configuration = WapcConfiguration()
        configuration.output = GuestOutput { _, _ in console.add(1, ordering: .relaxed) }
        configure(&configuration)
        let started = ContinuousClock.now
        let instance = try Fixtures.load(try wat2wasm(Self.flood), configuration: configuration, router: router)
            .instantiate(configuration: configuration, router: router)
        for _ in 0..<calls { _ = try instance.invoke(operation: "run", payload: []) }
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (counter.lines.load(ordering: .relaxed), console.load(ordering: .relaxed), seconds)
    }

    @Test func aCallWritesAtMostItsLimitOfLines() throws {
        let written = try flood(calls: 3) {
            $0.maxLogLinesPerCall = 100
            $0.logLinesPerSecond = 1_000_000
        }
        // The first 50 iterations of each call: a host call line and a console line each.
        #expect(written.host == 150 && written.console == 150, "\(written)")
    }

    @Test func aModuleWritesAtMostItsRateOfLines() throws {
        let rate = 150
        let written = try flood(calls: 4) {
            $0.maxLogLinesPerCall = 10_000
            $0.logLinesPerSecond = rate
        }
        let total = written.host + written.console
        // The full bucket at once, then what refills while the calls run (however long they take).
        #expect(total >= rate, "\(written)")
        #expect(Double(total) <= Double(rate) * (1 + written.seconds) + 1, "\(written)")
        #expect(total < 4_000)
    }

    @Test func theModulesInstancesShareOneBudget() throws {
        let counter = CountingLog()
        var router = HostCallRouter()
        router.register(counter, namespace: "wasmrpc:log")
        var configuration = WapcConfiguration.quiet
        configuration.maxLogLinesPerCall = 10_000
        configuration.logLinesPerSecond = 200
        let started = ContinuousClock.now
        let module = try Fixtures.load(try wat2wasm(Self.flood), configuration: configuration, router: router)
        for _ in 0..<4 {
            _ = try module.instantiate(configuration: configuration, router: router).invoke(operation: "run", payload: [])
        }
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // Console lines (dropped by `.quiet` after the budget) count against the budget too.
        #expect(counter.lines.load(ordering: .relaxed) <= Int(200 * (1 + seconds)) + 1)
    }

    /// Console output, host calls to the logging capability and the report of dropped lines all
    /// name the module that wrote them.
    @Test func everyGuestLogLineNamesItsModule() throws {
        let log = CapturedLog()
        var router = HostCallRouter()
        router.register(LoggingCapability(logger: log.logger), namespace: "wasmrpc:log")
        var configuration = WapcConfiguration()
        configuration.output = .logger(log.logger)
        configuration.moduleLabel = "module-7"
        configuration.maxLogLinesPerCall = 6
        let instance = try Fixtures.load(try wat2wasm(Self.flood), configuration: configuration, router: router)
            .instantiate(configuration: configuration, router: router)
        _ = try instance.invoke(operation: "run", payload: [])
        let entries = log.entries.withLock { $0 }
        #expect(entries.map(\.message) == Array(repeating: ["guest host call", "hello"], count: 3).flatMap { $0 })
        #expect(entries.allSatisfy { $0.metadata["module"] == "module-7" }, "\(entries)")

        // The first drop is reported at once.
        GuestLogBudget(linesPerSecond: 1, module: "module-8", logger: log.logger).dropped(overCallLimit: 3)
        let report = try #require(log.entries.withLock { $0.last })
        #expect(report.message == "guest log lines dropped over the limits" && report.metadata["module"] == "module-8", "\(report)")
    }
}
