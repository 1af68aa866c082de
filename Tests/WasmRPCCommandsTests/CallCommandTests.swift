import Foundation
import Testing
@testable import WasmRPCCommands

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func path(_ relative: String) -> String { repository.appendingPathComponent(relative).path }

private func call(_ arguments: [String]) throws -> [UInt8] {
    try Call.parse(arguments).execute()
}

@Suite(.timeLimit(.minutes(10))) struct CallCommandTests {
    @Test func echoPrintsTheInput() throws {
        #expect(try call([path("Guests/echo/echo.wasm"), "echo", "--input", "hello"]) == Array("hello".utf8))
    }

    @Test func inputFromAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-input-\(UUID().uuidString)")
        try Data([0, 1, 2, 255]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try call([path("Guests/echo/echo.wasm"), "echo", "--input-file", file.path]) == [0, 1, 2, 255])
    }

    @Test func aLoopingModuleIsStoppedAndSaysItRanOutOfTime() throws {
        // WAT is accepted as well as binary wasm.
        let error = #expect(throws: CommandFailure.self) {
            try call([path("Tests/Fixtures/loop.wat"), "run", "--timeout", "200ms", "--fuel", "0"])
        }
        #expect(error?.description.hasPrefix("the guest ran out of time") == true)
    }

    @Test func unhandledHostCallsFailUnlessEchoed() throws {
        let forward = [path("Guests/echo/echo.wasm"), "forward", "--input", "x\ny\nz\npayload"]
        let error = #expect(throws: CommandFailure.self) { try call(forward) }
        #expect(error?.description.contains("no host capability") == true)
        #expect(try call(forward + ["--echo-host-calls"]) == Array("payload".utf8))
    }

    @Test func missingFilesAndConflictingInputsAreClearErrors() throws {
        let error = #expect(throws: CommandFailure.self) { try call(["/nonexistent.wasm", "echo", "--input", "x"]) }
        #expect(error?.description == "cannot read module /nonexistent.wasm")
        #expect(throws: (any Error).self) {
            try Call.parse([path("Guests/echo/echo.wasm"), "echo", "--input", "x", "--input-file", "y"])
        }
        #expect(throws: (any Error).self) { try Call.parse([path("Guests/echo/echo.wasm"), "echo", "--timeout", "soon"]) }
    }

    @Test func memoryLimitApplies() throws {
        // The complex guest's initial memory is 2 pages (128 KiB); a 64 KiB cap refuses it.
        let error = #expect(throws: CommandFailure.self) {
            try call([path("Guests/complex/complex.wasm"), "mul", "--memory-limit", "64KiB"])
        }
        #expect(error?.description.hasPrefix("memoryLimit") == true)
    }

    @Test func durationsAndSizesParse() {
        #expect(DurationArgument(argument: "200ms")?.duration == .milliseconds(200))
        #expect(DurationArgument(argument: "1.5s")?.duration == .milliseconds(1500))
        #expect(DurationArgument(argument: "2m")?.duration == .seconds(120))
        #expect(DurationArgument(argument: "-1s") == nil)
        #expect(DurationArgument(argument: "24h")?.duration == .seconds(86_400))
        #expect(DurationArgument(argument: "1d") == nil)
        #expect(ByteCountArgument(argument: "64MiB")?.bytes == 64 << 20)
        #expect(ByteCountArgument(argument: "10MB")?.bytes == 10_000_000)
        #expect(ByteCountArgument(argument: "4096")?.bytes == 4096)
        #expect(ByteCountArgument(argument: "99999999999999999GiB") == nil)
        #expect(ByteCountArgument(argument: "lots") == nil)
    }

    @Test func demoVerifiesItsAnswers() async throws {
        let demo = try Demo.parse([
            "--module", path("Guests/complex/complex.wasm"), "--descriptor-set", path("Guests/complex/complex.pb"), "--count", "20",
            "--fabcar", path("Guests/fabcar/fabcar.wasm"), "--fabcar-descriptor-set", path("Guests/fabcar/fabcar.pb"),
        ])
        try await demo.runDemo(seed: 7)
    }
}

/// `wasmrpc bench` end to end with few calls: what it measures, not how fast (no timing asserts).
@Suite(.timeLimit(.minutes(10))) struct BenchCommandTests {
    @Test func everyTargetAtEveryConcurrencyAnswersWithoutErrors() async throws {
        let bench = try Bench.parse([
            "--requests", "40", "--warmup", "10ms", "--concurrency", "1,4", "--cold-starts", "3",
            "--complex-module", path("Guests/complex/complex.wasm"),
            "--complex-descriptor-set", path("Guests/complex/complex.pb"),
        ])
        let report = try await bench.measureAll()
        #expect(report.cells.map(\.target) == ["baseline", "invoke", "native", "baseline", "invoke", "native"])
        #expect(report.cells.map(\.concurrency) == [1, 1, 1, 4, 4, 4])
        for cell in report.cells {
            #expect(cell.calls == 40 && cell.errors == 0, "\(cell.target) at \(cell.concurrency)")
            #expect(cell.p50Microseconds > 0 && cell.p50Microseconds <= cell.p99Microseconds)
            #expect((cell.callsPerSecondRatio == nil) == (cell.target == "baseline"))
        }
        let table = report.table()
        #expect(table.contains("complex.Calculator/mul"))
        #expect(report.coldStarts?.count == 3)
        #expect((report.coldStarts?.p50Milliseconds ?? 0) > 0)
        // Two heading lines, a blank, the header, six rows, a blank, the cold starts.
        #expect(table.split(separator: "\n", omittingEmptySubsequences: false).count == 4 + 6 + 2)
        let json = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        #expect((json?["cells"] as? [Any])?.count == 6)
    }

    @Test func aPayloadSizeEchoesThroughTheEchoGuest() async throws {
        let bench = try Bench.parse([
            "--requests", "10", "--warmup", "10ms", "--concurrency", "2", "--target", "native", "--payload-size", "4KiB", "--cold-starts", "0",
            "--echo-module", path("Guests/echo/echo.wasm"),
        ])
        let report = try await bench.measureAll()
        #expect(report.cells.map(\.target) == ["baseline", "native"])
        #expect(report.workload.contains("4096 payload bytes"))
        #expect(report.cells.allSatisfy { $0.calls == 10 && $0.errors == 0 })
        #expect(report.coldStarts == nil)
    }

    @Test func theChaincodeTargetsCommitAndQuery() async throws {
        let bench = try Bench.parse([
            "--requests", "20", "--warmup", "10ms", "--concurrency", "4", "--target", "tx,query", "--cold-starts", "0", "--timeout", "60s",
            "--counter-module", path("Guests/counter/counter.wasm"), "--counter-descriptor-set", path("Guests/counter/counter.pb"),
            "--complex-module", path("Guests/complex/complex.wasm"), "--complex-descriptor-set", path("Guests/complex/complex.pb"),
        ])
        let report = try await bench.measureAll()
        #expect(report.cells.map(\.target) == ["baseline", "tx", "query"])
        #expect(report.cells.allSatisfy { $0.calls == 20 && $0.errors == 0 })
    }

    @Test func badPlansAreClearErrors() throws {
        #expect(throws: (any Error).self) { try Bench.parse(["--target", "grpc"]).makePlan() }
        #expect(throws: (any Error).self) { try Bench.parse(["--concurrency", "0"]).makePlan() }
        #expect(throws: (any Error).self) { try Bench.parse(["--concurrency", "1,x"]).makePlan() }
        #expect(try Bench.parse(["--target", "invoke"]).makePlan().targets == [.baseline, .invoke])
        #expect(throws: (any Error).self) { try Bench.parse(["--rounds", "0"]).makePlan() }
        #expect(throws: (any Error).self) { try Bench.parse(["--requests", "3", "--rounds", "5"]).makePlan() }
    }

    @Test func roundsShareTheRequestsWithoutLosingAny() {
        for (total, rounds) in [(40, 5), (12, 5), (5, 5), (7, 1)] {
            let shares = (0..<rounds).map { Bench.share(of: total, round: $0, rounds: rounds) }
            #expect(shares.reduce(0, +) == total, "\(total) in \(rounds)")
            #expect((shares.max() ?? 0) - (shares.min() ?? 0) <= 1)
        }
    }
}
