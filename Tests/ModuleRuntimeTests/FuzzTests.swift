import ContentStore
import DynamicProto
import Foundation
import ModuleRuntime
import SwiftProtobuf
import Testing
import WapcHost
import TestSupport
import SQLiteEngine

/// Seeded, bounded fuzzing of Add and Invoke in-process: mutated modules, mutated descriptor sets
/// and mutated parameters must each end in a result or one of our error types — never a crash, a
/// hang or a foreign error. Bounded by an iteration count, so that the same seed runs the same
/// cases however fast the machine is. (The 100 ms guest deadline only shortens mutated loops;
/// whatever ends a call, every outcome but a crash or a foreign error passes.)
@Suite(.timeLimit(.minutes(10))) struct FuzzTests {
    static let iterations = 1_500

    /// One of: flip bytes, truncate, insert random bytes, duplicate a slice, overwrite with an
    /// interesting value (0, 0xFF, 0x80, a large LEB128).
    static func mutate(_ input: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        guard !bytes.isEmpty else { return [UInt8.random(in: 0...255, using: &random)] }
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1: bytes = Array(bytes[..<max(1, at)])
            case 2: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
            case 3:
                let end = min(bytes.count, at + Int.random(in: 1...64, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default:
                let values: [[UInt8]] = [[0], [0xFF], [0x80], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]]
                let value = values[Int.random(in: 0..<values.count, using: &random)]
                bytes.replaceSubrange(at..<min(bytes.count, at + value.count), with: value)
            }
            if bytes.isEmpty { break }
        }
        return bytes
    }

    /// Whether `error` is one the server maps deliberately (not INTERNAL): the runtime throws only
    /// its own error type, which stands for the guest's and the store's errors too.
    static func isExpected(_ error: any Error) -> Bool {
        error is ModuleRuntimeError
    }

    @Test func mutatedModulesDescriptorsAndParametersNeverCrash() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = RuntimeConfiguration()
        configuration.wapc.timeout = .milliseconds(100)
        configuration.wapc.fuel = 5_000_000
        configuration.wapc.memoryLimit = 4 << 20
        configuration.wapc.output = .discard
        let runtime = ModuleRuntime(store: try await ContentStore.open(directory: directory), configuration: configuration)
        let descriptor: [UInt8] = try complexDescriptor.serializedBytes()
        let complex = try await runtime.add(wasm: complexWasm, descriptorSet: descriptor, name: "")
        let request: [UInt8] = try complexRequest((1, 2), (3, 4)).value.map { $0 }

        var random = SeededRandom(seed: 20_261_125)
        let clock = ContinuousClock()
        let start = clock.now
        var outcomes: [String: Int] = [:]
        var iteration = 0
        while iteration < Self.iterations {
            iteration += 1
            let kind = iteration % 3
            do {
                switch kind {
                case 0:
                    _ = try await runtime.add(wasm: Self.mutate(complexWasm, &random), descriptorSet: descriptor, name: "")
                case 1:
                    // The echo guest, so the module is new each time only through its descriptor.
                    _ = try await runtime.add(wasm: echoWasm, descriptorSet: Self.mutate(descriptor, &random), name: "")
                default:
                    _ = try await runtime.invoke(
                        module: complex.record.id, function: "mul", typeURL: "", parameters: Self.mutate(request, &random))
                }
                outcomes["\(kind) ok", default: 0] += 1
            } catch {
                #expect(Self.isExpected(error), "iteration \(iteration): \(type(of: error)) \(error)")
                outcomes["\(kind) \(type(of: error))", default: 0] += 1
            }
        }
        await runtime.shutdown()
        print("fuzz: \(iteration) iterations in \(clock.now - start): \(outcomes.sorted { $0.key < $1.key })")
    }
}
