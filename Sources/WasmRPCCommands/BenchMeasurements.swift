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
import WapcHost
import WasmRPCCore
import WasmRPCProto

/// What `wasmrpc bench` calls, measures and reports.
extension Bench {
    // MARK: - Calls

    /// One call per target, checked once against the expected answer before anything is measured.
    struct Calls {
        let baseline: @Sendable () async throws -> Void
        let invoke: @Sendable () async throws -> Void
        let native: @Sendable () async throws -> Void
        /// The counter chaincode's Add (a transaction) and Get (a query), if it was added.
        let tx: @Sendable () async throws -> Void
        let query: @Sendable () async throws -> Void

        subscript(target: Target) -> @Sendable () async throws -> Void {
            switch target {
            case .baseline: baseline
            case .invoke: invoke
            case .native: native
            case .tx: tx
            case .query: query
            case .gload: { throw CommandFailure("gload measures from its own process") }
            }
        }

        /// counter.AddRequest{name: "bench", by: 1}: the `tx` target's Add.
        static let addRequest: [UInt8] = [0x0A, 0x05] + Array("bench".utf8) + [0x10, 0x01]
        /// counter.Name{name: "bench"}: the `query` targets' Get.
        static let getRequest: [UInt8] = [0x0A, 0x05] + Array("bench".utf8)

        init(workload: Workload, module: ModuleID, counter: ModuleID?, client: WasmRPCClient, baseline baselineClient: WasmRPCClient)
            async throws
        {
            let message = workload.message
            let parameters = Google_Protobuf_Any.with {
                $0.typeURL = workload.typeURL
                $0.value = Data(message)
            }
            // Each call answers its message, so that the check below runs the very calls measured.
            let echo: @Sendable () async throws -> [UInt8] = {
                try await baselineClient.grpc.unary(
                    request: ClientRequest(message: message), descriptor: BaselineEchoServer.method, serializer: RawBytesCoder(),
                    deserializer: RawBytesCoder(), options: .defaults
                ) { try $0.message }
            }
            let invokeOnce: @Sendable () async throws -> [UInt8] = {
                Array(try await client.invoke(module, function: workload.function, parameters: parameters).value)
            }
            let callOnce: @Sendable () async throws -> [UInt8] = {
                try await client.call(workload.function, message: message, module: module).message
            }
            baseline = { _ = try await echo() }
            invoke = { _ = try await invokeOnce() }
            native = { _ = try await callOnce() }
            let add = Google_Protobuf_Any.with { $0.value = Data(Self.addRequest) }
            let get = Google_Protobuf_Any.with { $0.value = Data(Self.getRequest) }
            let counterCall = { @Sendable (function: String, parameters: Google_Protobuf_Any) async throws -> Wasmrpc_V1_InvokeResponse in
                guard let counter else { throw CommandFailure("the counter module was not added") }
                return try await client.invokeResponse(counter, function: function, parameters: parameters)
            }
            let addOnce: @Sendable () async throws -> Wasmrpc_V1_InvokeResponse = { try await counterCall("Add", add) }
            let getOnce: @Sendable () async throws -> Wasmrpc_V1_InvokeResponse = { try await counterCall("Get", get) }
            tx = { _ = try await addOnce() }
            query = { _ = try await getOnce() }
            if counter != nil {
                guard try await addOnce().hasTransaction else { throw CommandFailure("the counter's Add answered without a transaction") }
                guard try await !getOnce().hasTransaction else { throw CommandFailure("the counter's Get recorded a transaction") }
            }
            // Every target answers, and the two wasmrpc targets answer alike.
            guard try await echo() == message else { throw CommandFailure("the baseline did not echo its request") }
            guard try await invokeOnce() == callOnce() else {
                throw CommandFailure("Invoke and the native path answered differently")
            }
        }
    }

    // MARK: - Measuring

    /// Add → first Invoke of modules the server has never seen.
    struct ColdStarts: Codable, Sendable {
        var count = 0
        var p50Milliseconds = 0.0
        var maxMilliseconds = 0.0
        /// The two parts: Add (validate, store, log), then the first Invoke (load, instantiate, run).
        var addP50Milliseconds = 0.0
        var firstInvokeP50Milliseconds = 0.0
    }

    /// Times `count` cold starts: each adds the workload's module with a custom section of fresh
    /// random bytes (a new id, so nothing is cached), then invokes it once.
    static func measureColdStarts(_ count: Int, workload: Workload, client: WasmRPCClient) async throws -> ColdStarts {
        let parameters = Google_Protobuf_Any.with {
            $0.typeURL = workload.typeURL
            $0.value = Data(workload.message)
        }
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
        }
        var times: [(total: Double, add: Double, invoke: Double)] = []
        for _ in 0..<count {
            let wasm = workload.wasm + wasmCustomSection(name: "wasmrpc.bench.nonce", content: (0..<16).map { _ in .random(in: 0 ... .max) })
            let began = ContinuousClock.now
            let added = try await client.add(wasm: wasm, descriptorSet: workload.descriptorSet)
            guard added.created, let id = ModuleID(hex: added.metadata.id) else { throw CommandFailure("a cold-start module was not new") }
            let addedAt = ContinuousClock.now
            _ = try await client.invoke(id, function: workload.function, parameters: parameters)
            let end = ContinuousClock.now
            times.append((milliseconds(began.duration(to: end)), milliseconds(began.duration(to: addedAt)), milliseconds(addedAt.duration(to: end))))
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        return ColdStarts(
            count: count, p50Milliseconds: median(times.map(\.total)), maxMilliseconds: times.map(\.total).max() ?? 0,
            addP50Milliseconds: median(times.map(\.add)), firstInvokeP50Milliseconds: median(times.map(\.invoke)))
    }

    // MARK: - Report

    struct Report: Codable, Sendable {
        let workload: String
        let server: String
        let module: String
        var cells: [Cell]
        var coldStarts: ColdStarts?

        init(workload: String, server: String, module: String, cells: [Cell]) {
            self.workload = workload
            self.server = server
            self.module = module
            self.cells = cells.map { cell in
                var cell = cell
                // In-process targets are compared with the baseline, gload's with its floor.
                let reference = Bench.gloadTargets.contains(where: { cell.target == "gload \($0)" }) ? "floor" : Target.baseline.rawValue
                if cell.target != reference, cell.target != "floor",
                    let base = cells.first(where: { $0.target == reference && $0.concurrency == cell.concurrency })
                {
                    cell.callsPerSecondRatio = base.callsPerSecond > 0 ? cell.callsPerSecond / base.callsPerSecond : nil
                    cell.p50Ratio = base.p50Microseconds > 0 ? cell.p50Microseconds / base.p50Microseconds : nil
                    cell.p99Ratio = base.p99Microseconds > 0 ? cell.p99Microseconds / base.p99Microseconds : nil
                }
                return cell
            }
        }

        func json() throws -> String {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }

        func table() -> String {
            let header = ["target", "in flight", "calls", "errors", "calls/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "÷ baseline or floor: calls/s", "p50", "p99"]
            let ratio = { (value: Double?) in value.map { String(format: "%.2f×", $0) } ?? "" }
            let rows = cells.map { cell in
                [
                    cell.target, "\(cell.concurrency)", "\(cell.calls)", "\(cell.errors)", String(format: "%.0f", cell.callsPerSecond),
                    String(format: "%.0f", cell.p50Microseconds), String(format: "%.0f", cell.p90Microseconds),
                    String(format: "%.0f", cell.p99Microseconds), String(format: "%.0f", cell.p999Microseconds),
                    String(format: "%.0f", cell.maxMicroseconds), ratio(cell.callsPerSecondRatio), ratio(cell.p50Ratio), ratio(cell.p99Ratio),
                ]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            let line = { (row: [String]) in
                row.indices.map { column in
                    let padding = String(repeating: " ", count: widths[column] - row[column].count)
                    return column == 0 ? row[column] + padding : padding + row[column]
                }.joined(separator: "  ")
            }
            var lines = ["workload: \(workload)", "server: \(server), module \(module)", "", line(header)] + rows.map(line)
            if let coldStarts {
                lines.append(
                    String(
                        format: "\ncold start (Add of a new module → its first Invoke), %d modules: p50 %.2f ms (Add %.2f, first Invoke %.2f), max %.2f ms",
                        coldStarts.count, coldStarts.p50Milliseconds, coldStarts.addP50Milliseconds, coldStarts.firstInvokeP50Milliseconds,
                        coldStarts.maxMilliseconds))
            }
            return lines.joined(separator: "\n")
        }
    }
}
