import Client
import ContentStore
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing
import WAT
import WasmRPCCore
import TestSupport

/// The server-level hostile corpus (`Tests/Fixtures/hostile/`): each module gets its status and a
/// well-behaved module invoked meanwhile keeps answering. (The server's memory before and after
/// the corpus is measured in `Tests/Interop/test_hostile.py`, on a server in its own process:
/// here other suites share the process.)
@Suite(.timeLimit(.minutes(10))) struct HostileCorpusTests {
    static let nothing = descriptorSet(package: "hostile", messages: ["Nothing": []], services: [("Hostile", [("run", "Nothing", "Nothing")])])

    /// Runs the corpus once; returns the status of each case.
    static func runCorpus(_ client: WasmRPCClient) async throws -> [String: RPCError.Code?] {
        var statuses: [String: RPCError.Code?] = [:]
        for name in ["start-loop", "init-loop", "init-trap", "huge-memory"] {
            let wasm = try fixture("Tests/Fixtures/hostile/\(name).wat")
            statuses[name] = await statusCode { try await client.add(wasm: wasm, descriptorSet: nothing) }
        }
        return statuses
    }

    @Test func everyCaseGetsItsStatusWhileAWellBehavedModuleKeepsAnswering() async throws {
        // 128 MiB lets the 100 MiB module load, so that its response is what the limit stops.
        // Loops end by fuel, not by the clock: on a busy machine a 300 ms deadline also failed the
        // well-behaved calls this test needs to succeed.
        try await withServer(configure: {
            $0.runtime.wapc.timeout = .seconds(30)
            $0.runtime.wapc.fuel = 5_000_000
            $0.runtime.wapc.memoryLimit = 128 << 20
        }) { client in
            let complex = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            let response = try fixture("Tests/Fixtures/hostile/huge-response.wat")
            let huge = try #require(ModuleID(hex: try await client.add(wasm: response, descriptorSet: Self.nothing).metadata.id))

            // A well-behaved caller runs the whole time.
            let done = ManagedAtomicFlag()
            async let wellBehaved: Int = {
                var answered = 0
                while !done.isSet {
                    let (real, imag) = try complexResult(
                        try await client.invoke(complex, function: "mul", parameters: try complexRequest((2, 0), (0, 2))))
                    #expect(real == 0 && imag == 4)
                    answered += 1
                }
                return answered
            }()

            var statuses: [String: RPCError.Code?] = [:]
            for _ in 0..<3 {
                statuses = try await Self.runCorpus(client)
                statuses["huge-response"] = await statusCode { try await client.invoke(huge, function: "run", parameters: Google_Protobuf_Any()) }
            }
            done.set()
            let answered = try await wellBehaved

            #expect(statuses["start-loop"] == .invalidArgument)
            #expect(statuses["init-loop"] == .invalidArgument)
            #expect(statuses["init-trap"] == .invalidArgument)
            #expect(statuses["huge-memory"] == .invalidArgument)
            #expect(statuses["huge-response"] == .resourceExhausted)
            #expect(answered > 0)
        }
    }
}

extension HostileCorpusTests {
    /// `Tests/Fixtures/hostile.wat` picks its case by the length of the operation name; through the
    /// server each case is a method named by that many x's. The statuses follow docs/ARCHITECTURE.md.
    static let callCases: [Int: RPCError.Code] = [
        1: .failedPrecondition, 2: .failedPrecondition, 3: .failedPrecondition, 4: .failedPrecondition,  // bad pointers
        5: .failedPrecondition, 6: .failedPrecondition,  // waPC protocol broken
        7: .failedPrecondition, 8: .deadlineExceeded, 9: .resourceExhausted, 10: .failedPrecondition,  // trap, loop, memory.grow, recursion
        11: .failedPrecondition,  // 64 KiB of memory as the answer: not a valid Nothing
        12: .resourceExhausted, 13: .failedPrecondition, 14: .failedPrecondition,  // host-call flood, division by zero, wrapping pointer
        15: .failedPrecondition,  // "fine" is not a valid Nothing either
    ]

    @Test func callLevelCasesGetTheirStatusesThroughTheServer() async throws {
        let methods = Self.callCases.keys.sorted().map { (String(repeating: "x", count: $0), "Nothing", "Nothing") }
        let set = descriptorSet(package: "hostile", messages: ["Nothing": []], services: [("Calls", methods)])
        // 1 MiB of memory, so that the memory.grow bomb reaches the cap. The loop (case 8) ends by
        // fuel (DEADLINE_EXCEEDED too): a deadline short enough to end it would also end the other
        // cases on a busy machine.
        try await withServer(configure: {
            $0.runtime.wapc.timeout = .seconds(60)
            $0.runtime.wapc.fuel = 5_000_000
            $0.runtime.wapc.memoryLimit = 1 << 20
        }) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: try fixture("Tests/Fixtures/hostile.wat"), descriptorSet: set).metadata.id))
            for (n, expected) in Self.callCases.sorted(by: { $0.key < $1.key }) {
                let code = await statusCode { try await client.invoke(id, function: String(repeating: "x", count: n), parameters: Google_Protobuf_Any()) }
                #expect(code == expected, "case \(n)")
            }
        }
    }

    /// `huge-data.wat` with its DATA placeholder replaced by `count` bytes.
    static func hugeData(_ count: Int) throws -> [UInt8] {
        let text = String(decoding: try Data(contentsOf: repository.appendingPathComponent("Tests/Fixtures/hostile/huge-data.wat")), as: UTF8.self)
        return try wat2wasm(text.replacingOccurrences(of: "\"DATA\"", with: "\"" + String(repeating: "a", count: count) + "\""))
    }

    @Test func dataSegmentsPastMemoryOrOverTheSizeLimitAreRefused() async throws {
        try await withServer(configure: { $0.runtime.maxModuleBytes = 1 << 20 }) { client in
            let outOfBounds = try fixture("Tests/Fixtures/hostile/data-out-of-bounds.wat")
            #expect(await statusCode { try await client.add(wasm: outOfBounds, descriptorSet: Self.nothing) } == .invalidArgument)
            #expect(await statusCode { try await client.add(wasm: try Self.hugeData(1 << 20), descriptorSet: Self.nothing) } == .resourceExhausted)
            // Under the limit the same shape is an ordinary module.
            let fits = try #require(ModuleID(hex: try await client.add(wasm: try Self.hugeData(512 << 10), descriptorSet: Self.nothing).metadata.id))
            _ = try await client.invoke(fits, function: "run", parameters: Google_Protobuf_Any())
            let listed = try await client.list()
            #expect(listed.map(\.id) == [fits.hex])
        }
    }
}

/// A flag set once by one task and read by another.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
