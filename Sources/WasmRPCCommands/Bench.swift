import ArgumentParser
import Client
import ContentStore
import DynamicProto
import Foundation
import GRPCCore
import Histogram
import Logging
import NIOPosix
import Server
import WasmRPCBench
import SwiftProtobuf
import Synchronization
import WasmRPCCore

/// `wasmrpc bench`: a load generator that measures wasmrpc next to the bare gRPC floor in one run,
/// so that machine noise cancels in the ratios.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput and latency of calls, next to a bare gRPC echo service.",
        discussion: """
            Each target runs at each concurrency (calls in flight, on one HTTP/2 connection per target) for \
            --duration or --requests in all, after an unmeasured --warmup; the time is cut into --rounds slices \
            that the targets take in turns, so that the machine's noise falls on all of them alike. `baseline` is a plain grpc-swift-2 service in \
            this process that echoes its request, served with the same transport settings as wasmrpc; every other \
            target is also reported as a ratio to it (calls/s, p50, p99). `invoke` calls Invoker.Invoke with an \
            Any; `native` calls the module's own path with the plain message (pinned with wasmrpc-module-id). The \
            workload is the complex example's mul, or with --payload-size the echo guest echoing that many bytes \
            (the baseline then echoes the same message). Two more targets run only when asked for, with the \
            counter chaincode (Guests/counter, docs/CHAINCODE.md): `tx` invokes its Add on one counter, a \
            committed transaction per call (a durable, logged commit answered with its receipt; concurrent calls \
            share commits), and `query` its Get on that counter, a NO_SIDE_EFFECTS call that reads the state.

            `gload` measures from a separate process with gload, an independent grpc-go load generator (build it \
            with `sh ../shared/tools/gload/build.sh`): `floor` is gload's own grpc-go echo server (`gload -serve`, \
            the machine's gRPC floor), `gload native` and `gload invoke` are the native route and Invoke of the \
            server measured, and with `query` asked for too, `gload query` is the counter's Get on its native \
            route; each is reported as a ratio to the floor; its percentiles are the medians of the slices'. \
            With only `gload` asked for, the in-process targets do not run.

            Without --server, bench starts its own server on a free loopback port with a temporary data directory \
            and adds the example module ($WASMRPC_SERVER is not used). With --server it measures that server; \
            --module names the module to call (else the example is added there, which may need a token).

            Client and server share the machine: for steadier figures pin them, e.g. `taskset -c 0,1 wasmrpc \
            bench`, or `taskset -c 0 wasmrpc serve` and `taskset -c 1 wasmrpc bench --server …`.
            """)

    enum Target: String, CaseIterable, Sendable {
        case baseline, invoke, native, tx, query, gload

        /// What runs when no --target is given.
        static let standard: [Target] = [.baseline, .invoke, .native]
        /// Targets that call the counter chaincode.
        var usesCounter: Bool { self == .tx || self == .query }
    }

    @Option(name: .customLong("target"), help: "invoke, native, baseline, tx, query, gload; repeat or separate with commas (default: invoke, native, baseline).")
    var targets: [String] = []

    @Option(help: "gload, for the gload target (default: $GLOAD, else gload on the PATH).")
    var gload: String?

    @Option(help: "Calls in flight, separated by commas.")
    var concurrency = "1,16,64"

    @Option(help: "How long each measurement runs (ignored with --requests).")
    var duration = DurationArgument(argument: "5s")!

    @Option(help: "Calls per measurement, instead of --duration.")
    var requests: Int?

    @Option(help: "Unmeasured calls before each measurement, for this long.")
    var warmup = DurationArgument(argument: "1s")!

    @Option(help: "Slices each measurement is cut into; the targets take turns slice by slice (order reversed every other round), so that the machine's ups and downs fall on all of them alike.")
    var rounds = 5

    @Option(help: "Echo a message with this many payload bytes through the echo guest instead of calling complex mul.")
    var payloadSize: ByteCountArgument?

    @Option(help: "With --server: the module to call (id, unique id prefix or name).")
    var module: String?

    @Option(help: "Cold starts to time: Add a module never seen (the example with a fresh custom section), then its first Invoke (default: 10, or 0 with --server).")
    var coldStarts: Int?

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Option(help: "The complex example module.")
    var complexModule = "Guests/complex/complex.wasm"

    @Option(help: "Its descriptor set.")
    var complexDescriptorSet = "Guests/complex/complex.pb"

    @Option(help: "The echo guest (for --payload-size).")
    var echoModule = "Guests/echo/echo.wasm"

    @Option(help: "The counter chaincode (for the tx and query targets).")
    var counterModule = "Guests/counter/counter.wasm"

    @Option(help: "Its descriptor set.")
    var counterDescriptorSet = "Guests/counter/counter.pb"

    @OptionGroup var connection: ServerConnection

    @OptionGroup(title: "Limits of the in-process server (without --server)") var limits: ServeLimits

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let report = try await measureAll { progress in if !json { printError(progress) } }
        print(json ? try report.json() : report.table())
    }

    /// Starts the baseline (and, without --server, a wasmrpc server), checks every target answers,
    /// and measures each target at each concurrency, the baseline first at each level.
    func measureAll(progress: (String) -> Void = { _ in }) async throws -> Report {
        let plan = try makePlan()
        let gloadPath = plan.gload ? try self.gloadPath() : nil
        let workload = try makeWorkload()
        let baseline = BaselineEchoServer()
        // The load generator's connections get their own event loop: on the servers' shared loops a
        // connection's client and server ends could land on one thread, which no deployment has.
        let clientLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { clientLoops.shutdownGracefully { _ in } }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await baseline.run() }
            defer { baseline.shutdown() }
            let baselineAddress = ServerAddress(host: "127.0.0.1", port: try await baseline.listeningPort())
            let report = try await withServer { address, inProcess in
                try await WasmRPCClient.withClient(to: baselineAddress, eventLoopGroup: clientLoops) { baselineClient in
                    try await connection.withClient(to: address, eventLoopGroup: clientLoops) { client in
                        let module = try await resolveModule(workload, with: client)
                        let counter = try await plan.targets.contains(where: \.usesCounter) ? addCounter(with: client) : nil
                        let calls = try await Calls(
                            workload: workload, module: module, counter: counter, client: client, baseline: baselineClient)
                        var cells: [Cell] = []
                        for inFlight in plan.concurrency {
                            for target in plan.targets {
                                _ = await LoadGenerator.measure(concurrency: inFlight, duration: warmup.duration, requests: nil, call: calls[target])
                            }
                            var samples = Array(repeating: Sample(), count: plan.targets.count)
                            for round in 0..<plan.rounds {
                                let order = round % 2 == 0 ? Array(plan.targets.indices) : plan.targets.indices.reversed()
                                for index in order {
                                    samples[index].add(
                                        await LoadGenerator.measure(
                                            concurrency: inFlight, duration: duration.duration / plan.rounds,
                                            requests: requests.map { Self.share(of: $0, round: round, rounds: plan.rounds) },
                                            call: calls[plan.targets[index]]))
                                }
                            }
                            for (target, sample) in zip(plan.targets, samples) {
                                cells.append(Cell(target: target.rawValue, concurrency: inFlight, sample: sample))
                                progress("measured \(target.rawValue) at \(inFlight) in flight")
                            }
                        }
                        if let gloadPath {
                            cells += try await measureWithGload(gloadPath, address: address, workload: workload, module: module, counter: counter, progress: progress)
                        }
                        var report = Report(
                            workload: workload.description, server: inProcess ? "in-process at \(address)" : "\(address)",
                            module: "\(module)", cells: cells)
                        let starts = coldStarts ?? (inProcess ? 10 : 0)
                        if starts > 0 {
                            report.coldStarts = try await Self.measureColdStarts(starts, workload: workload, client: client)
                            progress("measured \(starts) cold starts")
                        }
                        return report
                    }
                }
            }
            baseline.shutdown()
            try await group.waitForAll()
            return report
        }
    }

    struct Plan {
        /// The in-process targets.
        let targets: [Target]
        let concurrency: [Int]
        let rounds: Int
        /// Whether gload measures too.
        var gload = false
    }

    func makePlan() throws -> Plan {
        let names = targets.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var chosen: [Target] = []
        for name in names {
            guard let target = Target(rawValue: name) else {
                throw ValidationError("--target \"\(name)\" is not one of invoke, native, baseline, tx, query, gload")
            }
            if !chosen.contains(target) { chosen.append(target) }
        }
        // The baseline runs whatever else is asked in process: the ratios are the point. gload
        // measures on its own (its reference is its floor).
        let inProcess = chosen.filter { $0 != .gload }
        let targets =
            chosen.isEmpty
            ? Target.standard : inProcess.isEmpty ? [] : Target.allCases.filter { $0 != .gload && (inProcess.contains($0) || $0 == .baseline) }
        let levels = concurrency.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 10_000 }) else {
            throw ValidationError("--concurrency \"\(concurrency)\" is not a comma-separated list of numbers from 1 to 10000")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let requests, requests < rounds { throw ValidationError("--requests must be at least --rounds (\(rounds))") }
        return Plan(targets: targets, concurrency: levels.compactMap { $0 }, rounds: rounds, gload: chosen.contains(.gload))
    }

    /// Round `round`'s part of `total` calls (the first rounds take the remainder).
    static func share(of total: Int, round: Int, rounds: Int) -> Int {
        total / rounds + (round < total % rounds ? 1 : 0)
    }

    // MARK: - Workload

    /// What every call sends: a function path, the request message, and the module that has it.
    struct Workload: Sendable {
        let function: String
        let typeURL: String
        let message: [UInt8]
        let wasm: [UInt8]
        let descriptorSet: Google_Protobuf_FileDescriptorSet
        let description: String
    }

    func makeWorkload() throws -> Workload {
        if let size = payloadSize?.bytes {
            // bench.Blob { bytes data = 1; }: the tag, the length as a varint, the bytes.
            var message: [UInt8] = [0x0A]
            var length = size
            while length >= 0x80 {
                message.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            message.append(UInt8(length))
            message += (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            return Workload(
                function: "bench.Echo/echo", typeURL: Wire.typeURLPrefix + "bench.Blob", message: message,
                wasm: try ModuleFile.read(echoModule), descriptorSet: Self.echoDescriptor,
                description: "bench.Echo/echo of \(size) payload bytes (\(message.count)-byte message), echo guest")
        }
        guard let data = FileManager.default.contents(atPath: complexDescriptorSet) else {
            throw CommandFailure("cannot read \(complexDescriptorSet)")
        }
        let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data)
        let pool = try DescriptorPool(set)
        guard let mul = pool.methods(matching: "complex.Calculator/mul").first else {
            throw CommandFailure("\(complexDescriptorSet) does not define complex.Calculator/mul")
        }
        let request = try DynamicMessage(
            jsonString: #"{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}"#, type: mul.input, pool: pool)
        let message = request.serializedBytes()
        return Workload(
            function: "complex.Calculator/mul", typeURL: Wire.typeURLPrefix + "complex.ComplexRequest", message: message,
            wasm: try ModuleFile.read(complexModule), descriptorSet: set,
            description: "complex.Calculator/mul (\(message.count)-byte request), complex example")
    }

    /// `bench/echo.proto`: `service Echo { rpc echo(Blob) returns (Blob); }`, `message Blob { bytes data = 1; }`.
    static let echoDescriptor = Google_Protobuf_FileDescriptorSet.with {
        $0.file = [
            .with { file in
                file.name = "bench/echo.proto"
                file.package = "bench"
                file.syntax = "proto3"
                file.messageType = [
                    .with {
                        $0.name = "Blob"
                        $0.field = [.with { $0.name = "data"; $0.number = 1; $0.type = .bytes; $0.label = .optional; $0.jsonName = "data" }]
                    }
                ]
                file.service = [
                    .with {
                        $0.name = "Echo"
                        $0.method = [.with { $0.name = "echo"; $0.inputType = ".bench.Blob"; $0.outputType = ".bench.Blob" }]
                    }
                ]
            }
        ]
    }

    // MARK: - Servers

    /// Runs `body` with the address of the server to measure (and whether it runs in this process):
    /// `--server`'s, or one started here.
    func withServer<T: Sendable>(_ body: (ServerAddress, Bool) async throws -> T) async throws -> T {
        if connection.server != nil {
            return try await body(try connection.address(), false)
        }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        var configuration = WasmRPCServer.Configuration(dataDirectory: data)
        configuration.port = 0
        try limits.apply(to: &configuration, environment: ProcessInfo.processInfo.environment)
        let server = try await WasmRPCServer(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { server.shutdown() }
            let result = try await body(ServerAddress(host: "127.0.0.1", port: try await server.listeningPort()), true)
            server.shutdown()
            try await group.waitForAll()
            return result
        }
    }

    /// The counter chaincode, added to the server (adding it again is harmless).
    func addCounter(with client: WasmRPCClient) async throws -> ModuleID {
        guard let data = FileManager.default.contents(atPath: counterDescriptorSet) else {
            throw CommandFailure("cannot read \(counterDescriptorSet)")
        }
        let added = try await client.add(
            wasm: try ModuleFile.read(counterModule), descriptorSet: try Google_Protobuf_FileDescriptorSet(serializedBytes: data))
        guard let id = ModuleID(hex: added.metadata.id) else { throw CommandFailure("the server answered Add with a malformed id") }
        return id
    }

    /// `--module` on the server, else the workload's module (added; adding it again is harmless).
    func resolveModule(_ workload: Workload, with client: WasmRPCClient) async throws -> ModuleID {
        if let module {
            guard connection.server != nil else { throw ValidationError("--module needs --server") }
            return try await ModuleReference.resolve(module, with: client)
        }
        let added = try await client.add(wasm: workload.wasm, descriptorSet: workload.descriptorSet)
        guard let id = ModuleID(hex: added.metadata.id) else { throw CommandFailure("the server answered Add with a malformed id") }
        return id
    }
}
