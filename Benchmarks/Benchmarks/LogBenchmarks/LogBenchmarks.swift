import Benchmark
import ContentStore
import Crypto
import Foundation
import SQLiteEngine
import TransparencyLog

// The transparency log per operation, on the embedded engine (`SQLiteStorage`, file-backed, WAL)
// with 100,000 leaves: one Add's log work in one transaction (append a leaf, compute the root, sign
// and store a checkpoint), and the proofs a Get or an auditor asks for. `Sources/LogBenchmark`
// measures the same at 1,000,000 leaves.

func leaf(_ n: Int64) -> [UInt8] {
    ModuleLogEntry(
        id: String(repeating: "0", count: 48) + String(format: "%016llx", n), size: 1000 + n,
        descriptorSHA256: String(repeating: "a", count: 64), name: "module \(n)", addedMilliseconds: 1_764_000_000_000 + n
    ).bytes
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .microseconds,
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-logbenchmarks-\(UUID().uuidString)").path
    let engine = try! SQLiteStorage(directory: directory)
    let leaves: Int64 = 100_000
    let identity = LogIdentity(origin: "bench.local/log", signer: try! NoteSigner(name: "bench.local/log", key: Curve25519.Signing.PrivateKey()))

    // Each benchmark first makes sure the log holds its 100,000 leaves (built once).
    let prepare: @Sendable () async throws -> Void = {
        guard try await engine.reads.logSize() == 0 else { return }
        for start in stride(from: Int64(0), to: leaves, by: 10_000) {
            try await engine.transaction { transaction throws(ContentStoreError) in
                try await transaction.append((start..<start + 10_000).map(leaf))
            }
        }
    }

    Benchmark("log append: one leaf + root + signed checkpoint") { benchmark in
        for _ in benchmark.scaledIterations {
            try await engine.transaction { transaction throws(ContentStoreError) in
                let size = try await transaction.append([leaf(.random(in: 0 ..< .max))]) + 1
                try await transaction.signCheckpoint(size: size, identity)
            }
        }
    } setup: {
        try await prepare()
    }
    Benchmark("log inclusion proof (100,000 leaves)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await engine.reads.inclusionProof(index: .random(in: 0..<leaves), size: leaves))
        }
    } setup: {
        try await prepare()
    }
    Benchmark("log consistency proof (100,000 leaves)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await engine.reads.consistencyProof(first: .random(in: 1..<leaves), second: leaves))
        }
    } setup: {
        try await prepare()
    }
}
