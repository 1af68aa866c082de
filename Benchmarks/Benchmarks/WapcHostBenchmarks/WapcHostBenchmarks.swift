import Benchmark
import Foundation
import WapcHost

// In-process waPC round trips on one warm instance: no gRPC, no pool, just host → guest → host.
// Guests: the WAT ABI fixture (Tests/Fixtures/wapc-abi.wat, assembled by `wat2wasm` into
// .build/fixtures by the benchmark script) and the Swift example guests (Guests/).

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func loadInstance(_ path: String, router: HostCallRouter) -> WapcInstance {
    do {
        let bytes = Array(try Data(contentsOf: repository.appendingPathComponent(path)))
        var configuration = WapcConfiguration()
        configuration.output = .discard
        return try WapcModule.load(bytes: bytes, configuration: configuration, router: router)
            .instantiate(configuration: configuration, router: router)
    } catch {
        fatalError("cannot load \(path): \(error)")  // benchmark setup, not product code
    }
}

struct Reply: HostCapability {
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] { call.payload }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 1_000,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    let payload = [UInt8](repeating: 0x61, count: 64)
    var router = HostCallRouter()
    router.register(Reply(), namespace: "test")
    router.register(Reply(), namespace: "complex::any")  // the complex guest's logging host call

    let wat = loadInstance("Benchmarks/.build/fixtures/wapc-abi.wasm", router: router)
    Benchmark("waPC echo 64 B (WAT guest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try wat.invoke(operation: "echo", payload: payload))
        }
    }
    for size in [4 << 10, 64 << 10] {
        let large = [UInt8](repeating: 0x62, count: size)
        Benchmark("waPC echo \(size >> 10) KB (WAT guest)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try wat.invoke(operation: "echo", payload: large))
            }
        }
    }
    Benchmark("waPC host call 64 B (WAT guest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try wat.invoke(operation: "hostcall", payload: payload))
        }
    }

    let swiftEcho = loadInstance("Guests/echo/echo.wasm", router: router)
    Benchmark("waPC echo 64 B (Swift guest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try swiftEcho.invoke(operation: "echo", payload: payload))
        }
    }
    let hostCallRequest = Array("bind\ntest\nop\n".utf8) + payload
    Benchmark("waPC host call 64 B (Swift guest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try swiftEcho.invoke(operation: "forward", payload: hostCallRequest))
        }
    }

    let complex = loadInstance("Guests/complex/complex.wasm", router: router)
    // ComplexRequest{a: 1+2i, b: 3+4i}
    let mulRequest: [UInt8] = [
        0x0A, 0x0A, 0x0D, 0x00, 0x00, 0x80, 0x3F, 0x15, 0x00, 0x00, 0x00, 0x40,
        0x12, 0x0A, 0x0D, 0x00, 0x00, 0x40, 0x40, 0x15, 0x00, 0x00, 0x80, 0x40,
    ]
    Benchmark("complex mul incl. its logging host call (Swift guest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try complex.invoke(operation: "mul", payload: mulRequest))
        }
    }

    // The pool around a call: check a warm instance out and back in (no guest code runs).
    let complexBytes = Array(try! Data(contentsOf: repository.appendingPathComponent("Guests/complex/complex.wasm")))
    var pooled = WapcConfiguration()
    pooled.output = .discard
    let pool = InstancePool(module: try! WapcModule.load(bytes: complexBytes, configuration: pooled, router: router), configuration: pooled, router: router)
    _ = try! pool.invoke(operation: "mul", payload: mulRequest)  // one warm instance
    Benchmark("instance checkout + checkin (pool)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try pool.withInstance { instance in instance.lastFuelUsed })
        }
    }

    // A cold module: parse and validate, link, instantiate (runs its initializers), first call.
    Benchmark("cold load: parse + instantiate + first mul (Swift guest)", configuration: .init(scalingFactor: .one, maxIterations: 2_000)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            let module = try WapcModule.load(bytes: complexBytes, configuration: pooled, router: router)
            let instance = try module.instantiate(configuration: pooled, router: router)
            blackHole(try instance.invoke(operation: "mul", payload: mulRequest))
        }
    }
}
