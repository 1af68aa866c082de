// The noisy-neighbour benchmark: the latency of a well-behaved module's calls, first alone, then
// while other clients keep a module busy that loops until its deadline.
//
//   cd Benchmarks && swift run -c release NeighbourBenchmark [--seconds 5] [--loopers 4] [--workers N] [--per-module N] [--timeout-ms 1000]
//
// One process: an in-process server on a free loopback port (temporary data directory), one client
// calling complex `mul` back to back, and `--loopers` clients calling `Tests/Fixtures/loop.wat`
// back to back (each call runs until the server's timeout stops it).
import Client
import ContentStore
import Foundation
import GeneratedTestProtos
import Server
import SwiftProtobuf
import Synchronization
import WAT
import WasmRPCCore

struct Options {
    var seconds = 5.0
    var loopers = 4
    var workers: Int?
    var perModule: Int?
    var timeoutMilliseconds = 1_000

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--seconds": seconds = Double(value)!
            case "--loopers": loopers = Int(value)!
            case "--workers": workers = Int(value)!
            case "--per-module": perModule = Int(value)!
            case "--timeout-ms": timeoutMilliseconds = Int(value)!
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

/// What the looping clients and the measuring task share.
final class Shared: Sendable {
    let stop = Atomic<Bool>(false)
    let statuses = Mutex<[String: Int]>([:])
}

/// Everything runs off the main actor (the clients and the server are not main-actor code).
enum NeighbourBenchmark {
    static func run() async throws {
        let options = Options(Array(CommandLine.arguments.dropFirst()))
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        func file(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: repository.appendingPathComponent(path))) }

        let loopDescriptor = Google_Protobuf_FileDescriptorSet.with {
            $0.file = [
                .with { file in
                    file.name = "loop.proto"
                    file.package = "loop"
                    file.syntax = "proto3"
                    file.messageType = [.with { $0.name = "Nothing" }]
                    file.service = [.with { $0.name = "Loop"; $0.method = [.with { $0.name = "run"; $0.inputType = ".loop.Nothing"; $0.outputType = ".loop.Nothing" }] }]
                }
            ]
        }
        let request = try Google_Protobuf_Any.with {
            $0.typeURL = "type.googleapis.com/complex.ComplexRequest"
            $0.value = try Complex_ComplexRequest.with { $0.a = .with { $0.real = 1; $0.imag = 2 }; $0.b = .with { $0.real = 3; $0.imag = 4 } }
                .serializedBytes()
        }

        /// Latencies in microseconds, sorted, of `call` made back to back for `seconds`.
        func measure(for seconds: Double, _ call: () async throws -> Void) async throws -> [Double] {
            var latencies: [Double] = []
            let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < end {
                let start = ContinuousClock.now
                try await call()
                let elapsed = ContinuousClock.now - start
                latencies.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
            }
            return latencies.sorted()
        }

        func measure(_ client: WasmRPCClient, _ id: ModuleID, for seconds: Double) async throws -> [Double] {
            try await measure(for: seconds) { _ = try await client.invoke(id, function: "mul", parameters: request) }
        }

        func row(_ name: String, _ latencies: [Double]) -> String {
            func percentile(_ p: Double) -> String { String(format: "%.0f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
            return "| \(name) | \(latencies.count) | \(percentile(0.5)) | \(percentile(0.99)) | \(String(format: "%.0f", latencies.last ?? 0)) |"
        }

        let data = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-neighbour-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        var configuration = WasmRPCServer.Configuration(dataDirectory: data)
        configuration.port = 0
        configuration.runtime.wapc.timeout = .milliseconds(options.timeoutMilliseconds)
        if let workers = options.workers { configuration.runtime.workerThreads = workers }
        configuration.runtime.maxInstancesPerModule = options.perModule
        let server = try await WasmRPCServer(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let address = ServerAddress(host: "127.0.0.1", port: try await server.listeningPort())
            try await WasmRPCClient.withClient(to: address) { client in
                let complex = ModuleID(hex: try await client.add(
                    wasm: try file("Guests/complex/complex.wasm"),
                    descriptorSet: try Google_Protobuf_FileDescriptorSet(serializedBytes: try file("Guests/complex/complex.pb"))).metadata.id)!
                let loop = ModuleID(hex: try await client.add(
                    wasm: try wat2wasm(String(decoding: try file("Tests/Fixtures/loop.wat"), as: UTF8.self)), descriptorSet: loopDescriptor).metadata.id)!
                _ = try await measure(client, complex, for: 0.5)  // warm-up
                let quiet = try await measure(client, complex, for: options.seconds)
                // The same client and transport without a guest or a worker hop: the gRPC floor here.
                let health = try await measure(for: options.seconds) { _ = try await client.health.check(.init()) }

                let shared = Shared()
                let noisy = try await withThrowingTaskGroup(of: Void.self) { loopers in
                    for _ in 0..<options.loopers {
                        loopers.addTask {
                            try await WasmRPCClient.withClient(to: address) { looper in
                                while !shared.stop.load(ordering: .relaxed) {
                                    let status: String
                                    do {
                                        _ = try await looper.invoke(loop, function: "run", parameters: Google_Protobuf_Any())
                                        status = "OK"
                                    } catch {
                                        status = String("\(error)".prefix(60))
                                    }
                                    shared.statuses.withLock { $0[status, default: 0] += 1 }
                                }
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(200))  // let the loopers take their workers
                    let latencies = try await measure(client, complex, for: options.seconds)
                    shared.stop.store(true, ordering: .relaxed)
                    try await loopers.waitForAll()
                    return latencies
                }
                let runtime = server.configuration.runtime
                print("workers \(runtime.workerThreads), instances per module \(runtime.instancesPerModule), timeout \(options.timeoutMilliseconds) ms, \(options.loopers) loopers, \(options.seconds) s per phase")
                print("| complex mul, back to back | calls | p50 µs | p99 µs | max µs |")
                print("|---|---:|---:|---:|---:|")
                print(row("alone", quiet))
                print(row("(health Check, no guest, no worker hop)", health))
                print(row("while \(options.loopers) clients loop", noisy))
                print("looping calls:", shared.statuses.withLock { $0 })
            }
            server.shutdown()
            try await group.waitForAll()
        }
    }
}

try await NeighbourBenchmark.run()
