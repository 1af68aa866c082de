import Foundation
import WapcHost

// A plain loop over one waPC call, for profilers (perf, valgrind --tool=callgrind) that want a
// process doing one thing. Usage: WapcProfile echo|hostcall|swift-echo|swift-hostcall|mul [iterations]
// `WapcProfile idle [instances]` instead keeps that many warm complex instances (each has run one
// mul) and prints the resident memory they added, per instance; `idle-fresh` the same for
// instances that never ran.

struct Reply: HostCapability {
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] { call.payload }
}

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let arguments = CommandLine.arguments
let scenario = arguments.count > 1 ? arguments[1] : "echo"
let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let payload = [UInt8](repeating: 0x61, count: 64)
let mulRequest: [UInt8] = [
    0x0A, 0x0A, 0x0D, 0x00, 0x00, 0x80, 0x3F, 0x15, 0x00, 0x00, 0x00, 0x40,
    0x12, 0x0A, 0x0D, 0x00, 0x00, 0x40, 0x40, 0x15, 0x00, 0x00, 0x80, 0x40,
]
let (path, operation, request): (String, String, [UInt8]) =
    switch scenario {
    case "echo": ("Benchmarks/.build/fixtures/wapc-abi.wasm", "echo", payload)
    case "hostcall": ("Benchmarks/.build/fixtures/wapc-abi.wasm", "hostcall", payload)
    case "swift-echo": ("Guests/echo/echo.wasm", "echo", payload)
    case "swift-hostcall": ("Guests/echo/echo.wasm", "forward", Array("bind\ntest\nop\n".utf8) + payload)
    case "mul", "idle", "idle-fresh": ("Guests/complex/complex.wasm", "mul", mulRequest)
    default: fatalError("unknown scenario \(scenario)")
    }

var router = HostCallRouter()
router.register(Reply(), namespace: "test")
router.register(Reply(), namespace: "complex::any")
var configuration = WapcConfiguration()
configuration.output = .discard
let bytes = Array(try Data(contentsOf: repository.appendingPathComponent(path)))
let module = try WapcModule.load(bytes: bytes, configuration: configuration, router: router)

/// Resident set size in bytes (Linux: /proc/self/statm, second field, in pages).
func residentBytes() -> Int {
    let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
    let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

if scenario.hasPrefix("idle") {
    let warm = scenario == "idle"
    let count = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000
    // One instance first, so that what every instance shares (the module, WasmKit's code) is counted before.
    var kept = [try module.instantiate(configuration: configuration, router: router)]
    _ = try kept[0].invoke(operation: operation, payload: request)
    let before = residentBytes()
    for _ in 0..<count {
        let instance = try module.instantiate(configuration: configuration, router: router)
        if warm { _ = try instance.invoke(operation: operation, payload: request) }
        kept.append(instance)
    }
    let added = residentBytes() - before
    print("\(scenario): \(count) \(warm ? "warm" : "fresh") complex instances added \(added / 1024) KiB resident, \(added / count / 1024) KiB each")
    exit(0)
}
let instance = try module.instantiate(configuration: configuration, router: router)
let start = ContinuousClock.now
for _ in 0..<iterations {
    _ = try instance.invoke(operation: operation, payload: request)
}
let elapsed = ContinuousClock.now - start
print("\(scenario): \(iterations) calls, \(elapsed / iterations) per call, fuel per call \(instance.lastFuelUsed)")
