import Benchmark
import DynamicProto
import Foundation
import GeneratedTestProtos
import SwiftProtobuf

// Decode + encode of the same bytes by swift-protobuf's generated code and by DynamicProto.
// Messages: complex.ComplexRequest (24 bytes) and a ~1 KB dyn.test3.Everything (every field kind).

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func loadPool() -> DescriptorPool {
    do {
        let bytes = Array(try Data(contentsOf: repository.appendingPathComponent("Tests/DynamicProtoTests/Protos/test.pb")))
        return try DescriptorPool(serializedFileDescriptorSet: bytes)
    } catch {
        fatalError("cannot load Tests/DynamicProtoTests/Protos/test.pb: \(error)")  // benchmark setup, not product code
    }
}

func messageType(_ name: String, in pool: DescriptorPool) -> MessageID {
    guard let type = pool.message(named: name) else { fatalError("no \(name) in test.pb") }
    return type
}

/// The first seeded random Everything whose encoding is 900–1,200 bytes.
func kilobyteMessage(_ pool: DescriptorPool) -> [UInt8] {
    let type = messageType("dyn.test3.Everything", in: pool)
    for seed in UInt64(1)... {
        var random = SeededRandom(seed: seed)
        let bytes = DynamicMessage.random(type: type, pool: pool, using: &random).serializedBytes()
        if (900...1_200).contains(bytes.count) { return bytes }
    }
    fatalError("unreachable")
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 100,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    let pool = loadPool()
    // ComplexRequest{a: 1+2i, b: 3+4i}
    let complexBytes: [UInt8] = [
        0x0A, 0x0A, 0x0D, 0x00, 0x00, 0x80, 0x3F, 0x15, 0x00, 0x00, 0x00, 0x40,
        0x12, 0x0A, 0x0D, 0x00, 0x00, 0x40, 0x40, 0x15, 0x00, 0x00, 0x80, 0x40,
    ]
    let complexType = messageType("complex.ComplexRequest", in: pool)
    let kilobyte = kilobyteMessage(pool)
    let everythingType = messageType("dyn.test3.Everything", in: pool)

    Benchmark("ComplexRequest decode+encode, generated") { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try Complex_ComplexRequest(serializedBytes: complexBytes)
            blackHole(try message.serializedBytes() as [UInt8])
        }
    }
    Benchmark("ComplexRequest decode+encode, dynamic") { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try DynamicMessage(serializedBytes: complexBytes, type: complexType, pool: pool)
            blackHole(message.serializedBytes())
        }
    }
    Benchmark("1 KB Everything decode+encode, generated (\(kilobyte.count) B)") { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try Dyn_Test3_Everything(serializedBytes: kilobyte)
            blackHole(try message.serializedBytes() as [UInt8])
        }
    }
    Benchmark("1 KB Everything decode+encode, dynamic (\(kilobyte.count) B)") { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try DynamicMessage(serializedBytes: kilobyte, type: everythingType, pool: pool)
            blackHole(message.serializedBytes())
        }
    }
}
