import ArgumentParser
import Client
import Foundation
import NIOPosix
import SwiftProtobuf
import WasmRPCBench
import WasmRPCCore
import WasmRPCProto

/// `wasmrpc bench --target gload`: the server measured from a separate process by gload, an
/// independent grpc-go load generator (`../shared/tools/gload`), next to gload's own grpc-go echo
/// server (`gload -serve`), the gRPC floor of the machine.
extension Bench {
    /// The targets gload can measure, in the order they take turns: the floor first; `query`
    /// only when the counter chaincode was added (the `query` or `tx` target is asked for too).
    static let gloadTargets = ["floor", "native", "invoke", "query"]

    /// gload: `--gload`, else `$GLOAD`, else `gload` on the PATH.
    func gloadPath() throws -> String {
        let candidates = [gload, ProcessInfo.processInfo.environment["GLOAD"], Protoc.executable("gload")]
        guard let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CommandFailure(
                "the gload target needs gload, the grpc-go load generator: build it with `GLOAD_OUT=PATH sh "
                    + "../shared/tools/gload/build.sh` and name it with --gload or $GLOAD, or put it on the PATH")
        }
        return path
    }

    /// One gload run's report.
    struct GloadRun: Decodable {
        let requests: Int
        let errors: Int
        let seconds: Double
        let p50Us: Double
        let p90Us: Double
        let p99Us: Double
    }

    /// Runs gload with `arguments` and reads its report.
    static func runGload(_ path: String, _ arguments: [String]) throws -> GloadRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("gload \(arguments.joined(separator: " ")) failed: " + String(decoding: message, as: UTF8.self))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(GloadRun.self, from: data)
        } catch {
            throw CommandFailure("gload printed no report: " + String(decoding: data, as: UTF8.self))
        }
    }

    /// Measures the floor (gload's echo server), and the native route and Invoke of the server at
    /// `address` (and `counter`'s Get, a query, on its native route), with gload at each
    /// concurrency, the targets taking turns slice by slice.
    func measureWithGload(
        _ path: String, address: ServerAddress, workload: Workload, module: ModuleID, counter: ModuleID?, progress: (String) -> Void
    ) async throws -> [Cell] {
        let floorPort = try Self.freePort()
        let floor = Process()
        floor.executableURL = URL(fileURLWithPath: path)
        floor.arguments = ["-serve", "127.0.0.1:\(floorPort)"]
        floor.standardOutput = FileHandle.nullDevice
        floor.standardError = FileHandle.nullDevice
        try floor.run()
        defer {
            floor.terminate()
            floor.waitUntilExit()
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-bench-gload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let native = directory.appendingPathComponent("native.bin")
        let invoke = directory.appendingPathComponent("invoke.bin")
        try Data(workload.message).write(to: native)
        try Wasmrpc_V1_InvokeRequest.with {
            $0.metadata.id = module.hex
            $0.request.name = workload.function
            $0.request.parameters.typeURL = workload.typeURL
            $0.request.parameters.value = Data(workload.message)
        }.serializedData().write(to: invoke)
        var arguments: [String: [String]] = [
            "floor": ["-addr", "127.0.0.1:\(floorPort)", "-body", native.path],
            "native": ["-addr", "\(address)", "-method", "/" + workload.function, "-body", native.path, "-md", "\(Wire.moduleIDHeader)=\(module)"],
            "invoke": ["-addr", "\(address)", "-method", "/wasmrpc.v1.Invoker/Invoke", "-body", invoke.path],
        ]
        if let counter {
            let query = directory.appendingPathComponent("query.bin")
            try Data(Calls.getRequest).write(to: query)
            arguments["query"] = ["-addr", "\(address)", "-method", "/counter.Counter/Get", "-body", query.path, "-md", "\(Wire.moduleIDHeader)=\(counter)"]
        }
        let targets = Self.gloadTargets.filter { arguments[$0] != nil }
        let plan = try makePlan()
        let slice = Swift.max(duration.duration / plan.rounds, .milliseconds(100))
        let seconds = { (duration: Duration) in "\(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)s" }
        // The floor takes a moment to listen: its first run waits for it.
        try await Self.waitUntilListening(port: floorPort)
        var cells: [Cell] = []
        for inFlight in plan.concurrency {
            for target in targets {
                _ = try Self.runGload(path, arguments[target]! + ["-c", "\(inFlight)", "-d", seconds(warmup.duration)])
            }
            var runs = [String: [GloadRun]]()
            for round in 0..<plan.rounds {
                let order = round % 2 == 0 ? targets : targets.reversed()
                for target in order {
                    runs[target, default: []].append(try Self.runGload(path, arguments[target]! + ["-c", "\(inFlight)", "-d", seconds(slice)]))
                }
            }
            for target in targets {
                cells.append(Cell(target: target == "floor" ? target : "gload \(target)", concurrency: inFlight, runs: runs[target]!))
                progress("measured \(target) with gload at \(inFlight) in flight")
            }
        }
        return cells
    }

    /// A free loopback port (bound and released; gload binds it next).
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw CommandFailure("no free loopback port") }
        return port
    }

    /// Waits (up to 10 s) until something accepts connections on the loopback `port`.
    static func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandFailure("gload -serve did not listen on 127.0.0.1:\(port)")
    }
}

extension Cell {
    /// A cell from gload's runs (the slices of one measurement): calls and time add up; each
    /// percentile is the median of the slices' (gload reports percentiles, not its histogram).
    init(target: String, concurrency: Int, runs: [Bench.GloadRun]) {
        self.init(target: target, concurrency: concurrency, sample: Sample())
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        calls = runs.map(\.requests).reduce(0, +)
        errors = runs.map(\.errors).reduce(0, +)
        seconds = runs.map(\.seconds).reduce(0, +)
        callsPerSecond = seconds > 0 ? Double(calls) / seconds : 0
        p50Microseconds = median(runs.map(\.p50Us))
        p90Microseconds = median(runs.map(\.p90Us))
        p99Microseconds = median(runs.map(\.p99Us))
        p999Microseconds = 0
        maxMicroseconds = 0
    }
}
