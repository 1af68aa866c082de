import CallCore
import Client
import Foundation
import ModuleRuntime
import GRPCCore
import Server
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
import TestSupport
#endif

/// The Prometheus endpoint: counters move with calls, gauges are read at each scrape.
@Suite(.timeLimit(.minutes(10))) struct MetricsTests {
    /// `GET http://127.0.0.1:port/path` → (status, body).
    func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The value of the sample `name` with exactly `labels` (in any order).
    func value(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let seriesName = series.prefix { $0 != "{" }
            guard seriesName == name else { continue }
            var found: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                for pair in series[series.index(after: open)...].dropLast().split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    found[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            if found == labels { return Double(line[line.index(after: space)...]) }
        }
        return nil
    }

    @Test func countersMoveWithCalls() async throws {
        try await withRunningServer(configure: {
            $0.metrics = ("127.0.0.1", 0)
            // The second call of mul runs on the handler's thread (InlineCallTests).
            $0.runtime.inlineStreak = 1
            $0.runtime.inlineDuration = .seconds(60)
        }) { client, server in
            let metricsPort = try #require(try await server.metricsPort())
            let id = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).id
            _ = try await client.invoke(id, function: "mul", parameters: try complexRequest((1, 2), (3, 4)))
            _ = try await client.call("complex.Calculator/mul", message: try NativeRouteTests.request())
            _ = await statusCode { try await client.invoke(id, function: "nope", parameters: try complexRequest((1, 2), (3, 4))) }

            let (status, text) = try await get(metricsPort, "/metrics")
            #expect(status == 200)
            let labels = ["function": "complex.Calculator/mul", "module": "\(id)"]
            #expect(value(text, "wasmrpc_invocations_total", labels.merging(["code": "ok"]) { $1 }) == 2)
            #expect(value(text, "wasmrpc_invocation_duration_seconds_count", labels) == 2)
            #expect((value(text, "wasmrpc_fuel_used_total", labels) ?? 0) > 0)
            // The unknown function is counted without a made-up label.
            #expect(value(text, "wasmrpc_invocations_total", ["code": "notFound", "function": "", "module": ""]) == 1)
            #expect(value(text, "wasmrpc_modules_added_total", ["new": "true"]) == 1)
            #expect(value(text, "wasmrpc_log_size_entries") == 1)
            #expect(value(text, "wasmrpc_loaded_modules") == 1)
            #expect((value(text, "wasmrpc_idle_instances") ?? 0) >= 1)
            #expect(value(text, "wasmrpc_inline_calls_total") == 1)
            #expect(value(text, "wasmrpc_grpc_calls_total", ["code": "ok", "method": "wasmrpc.v1.Registry/Add"]) == 1)
            #expect(value(text, "wasmrpc_grpc_calls_total", ["code": "ok", "method": "complex.Calculator/mul"]) == 1)

            let (missing, _) = try await get(metricsPort, "/other")
            #expect(missing == 404)
        }
    }

    /// Without a metrics address, `metricsPort()` answers nil while the server runs.
    @Test func noMetricsAddressMeansNoMetricsPort() async throws {
        try await withRunningServer { _, server in
            let port = try #require(await outcome(within: ServerLifecycleTests.hang) { try await server.metricsPort() }, "metricsPort() did not return")
            #expect(try port.get() == nil)
        }
    }

    /// A metrics port that is taken stops `run()` with the error (and `listeningPort()` does not
    /// wait forever).
    @Test func aTakenMetricsPortFailsTheServer() async throws {
        let data = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        try await withRunningServer(configure: { $0.metrics = ("127.0.0.1", 0) }) { _, holder in
            let taken = try #require(try await holder.metricsPort())
            var configuration = WasmRPCServer.Configuration(dataDirectory: data)
            configuration.port = 0
            configuration.metrics = ("127.0.0.1", taken)
            let server = try await WasmRPCServer(configuration: configuration)
            await #expect(throws: ServerError.self) { try await server.run() }
            // The gRPC port was bound before the metrics port failed; either way, an answer.
            let port = await outcome(within: ServerLifecycleTests.hang) { try await server.listeningPort() }
            #expect(port != nil, "listeningPort() did not return")
            #expect(try await server.metricsPort() == nil)
        }
    }
}
