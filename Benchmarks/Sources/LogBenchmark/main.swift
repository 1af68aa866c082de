import ContentStore
import Crypto
import Foundation
import SQLiteEngine
import TransparencyLog

// The transparency log at scale, on the embedded engine (`SQLiteStorage`: file-backed SQLite in
// WAL mode, as the server uses it): builds a log of N leaves (default 1,000,000) through the bulk
// path, then measures
//   - batched appends: B leaves per transaction plus a signed checkpoint per transaction,
//   - single appends: one leaf + one signed checkpoint per transaction (what each Add does),
//   - inclusion and consistency proof generation at random points of the full tree.
// Usage: swift run -c release LogBenchmark [leaves] [batch]

let arguments = CommandLine.arguments.dropFirst()
let total = arguments.first.flatMap(Int64.init) ?? 1_000_000
let batch = arguments.dropFirst().first.flatMap(Int.init) ?? 1_000
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-logbench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: directory) }

let engine = try SQLiteStorage(directory: directory)
let identity = LogIdentity(origin: "bench.local/log", signer: try NoteSigner(name: "bench.local/log", key: Curve25519.Signing.PrivateKey()))

func leaf(_ n: Int64) -> [UInt8] {
    ModuleLogEntry(
        id: String(repeating: "0", count: 48) + String(format: "%016llx", n), size: 1000 + n, descriptorSHA256: String(repeating: "a", count: 64),
        name: "module \(n)", addedMilliseconds: 1_764_000_000_000 + n
    ).bytes
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Appends `leaves` in one transaction, with a signed checkpoint of the new size if `sign`.
func append(_ leaves: [[UInt8]], sign: Bool) async throws {
    try await engine.transaction { transaction throws(ContentStoreError) in
        let first = try await transaction.append(leaves)
        if sign { try await transaction.signCheckpoint(size: first + Int64(leaves.count), identity) }
    }
}

let clock = ContinuousClock()
print("building \(total) leaves through the bulk path (10,000 per transaction)…")
let build = try await clock.measure {
    var next: Int64 = 0
    while next < total {
        let count = min(10_000, total - next)
        try await append((next..<next + count).map(leaf), sign: false)
        next += count
    }
}
print(String(format: "bulk build: %.1f s, %.0f leaves/s", seconds(build), Double(total) / seconds(build)))

// Batched appends with a signed checkpoint per batch.
let batches = 20
var size = total
let batched = try await clock.measure {
    for _ in 0..<batches {
        try await append((size..<size + Int64(batch)).map(leaf), sign: true)
        size += Int64(batch)
    }
}
print(String(format: "batched appends (%d leaves + 1 checkpoint per transaction): %.0f leaves/s", batch,
             Double(batches * batch) / seconds(batched)))

// One leaf and one checkpoint per transaction, as Add does.
let singles = 500
let single = try await clock.measure {
    for _ in 0..<singles {
        try await append([leaf(size)], sign: true)
        size += 1
    }
}
print(String(format: "single appends (1 leaf + 1 checkpoint per transaction): %.0f leaves/s, %.0f µs each", Double(singles) / seconds(single),
             seconds(single) / Double(singles) * 1e6))

// Proofs at random points of the full tree.
var random = SystemRandomNumberGenerator()
let proofs = 2_000
var inclusion: [Double] = []
var consistency: [Double] = []
let reads = engine.reads
for _ in 0..<proofs {
    let index = Int64.random(in: 0..<size, using: &random)
    let first = Int64.random(in: 1..<size, using: &random)
    inclusion.append(seconds(try await clock.measure { _ = try await reads.inclusionProof(index: index, size: size) }))
    consistency.append(seconds(try await clock.measure { _ = try await reads.consistencyProof(first: first, second: size) }))
}
func percentiles(_ values: [Double]) -> String {
    let sorted = values.sorted()
    func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1e6 }
    return String(format: "p50 %.0f µs, p99 %.0f µs, max %.0f µs", at(0.5), at(0.99), sorted.last! * 1e6)
}
print("inclusion proof at \(size) leaves (\(proofs) random leaves): \(percentiles(inclusion))")
print("consistency proof to \(size) leaves (\(proofs) random sizes): \(percentiles(consistency))")
let file = try FileManager.default.attributesOfItem(atPath: directory + "/wasmrpc.sqlite")[.size] as? Int ?? 0
print(String(format: "database: %.0f MB (%.0f bytes per leaf)", Double(file) / 1e6, Double(file) / Double(size)))
