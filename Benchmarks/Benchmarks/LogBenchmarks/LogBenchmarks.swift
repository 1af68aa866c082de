import Benchmark
import Crypto
import Foundation
import GRDB
import TransparencyLog
import ContentStore

// The transparency log per operation, in an in-memory SQLite database with 100,000 leaves: one
// Add's log work (append a leaf, compute the root, sign and store a checkpoint), and the proofs a
// Get or an auditor asks for. `Sources/LogBenchmark` measures the same at 1,000,000 leaves on disk.

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
    let database = try! DatabaseQueue()
    var migrator = DatabaseMigrator()
    LogStorage.registerMigrations(&migrator)
    try! migrator.migrate(database)
    let leaves: Int64 = 100_000
    try! database.write { db in
        for start in stride(from: Int64(0), to: leaves, by: 10_000) { _ = try LogStorage.append((start..<start + 10_000).map(leaf), db) }
    }
    let signer = try! NoteSigner(name: "bench.local/log", key: Curve25519.Signing.PrivateKey())

    Benchmark("log append: one leaf + root + signed checkpoint") { benchmark in
        for _ in benchmark.scaledIterations {
            try database.write { db in
                let size = try LogStorage.append([leaf(.random(in: 0 ..< .max))], db)
                let note = try signer.sign(Checkpoint(origin: "bench.local/log", size: size, rootHash: LogStorage.root(size: size, db)).body)
                try LogStorage.storeCheckpoint(note, size: size, db)
            }
        }
    }
    Benchmark("log inclusion proof (100,000 leaves)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try database.read { db in try LogStorage.inclusionProof(index: .random(in: 0..<leaves), size: leaves, db) })
        }
    }
    Benchmark("log consistency proof (100,000 leaves)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try database.read { db in try LogStorage.consistencyProof(first: .random(in: 1..<leaves), second: leaves, db) })
        }
    }
}
