import Client
import ContentStore
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing

/// The server-level hostile corpus (`Tests/Fixtures/hostile/`): each module gets its status and a
/// well-behaved module invoked meanwhile keeps answering. (The server's memory before and after
/// the corpus is measured in `Tests/Interop/test_hostile.py`, on a server in its own process:
/// here other suites share the process.)
@Suite struct HostileCorpusTests {
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
        try await withServer(configure: { $0.runtime.wapc.timeout = .milliseconds(300); $0.runtime.wapc.memoryLimit = 128 << 20 }) { client in
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

/// A flag set once by one task and read by another.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
