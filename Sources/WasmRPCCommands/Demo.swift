import ArgumentParser
import Foundation
import Logging
import WapcHost

/// `wasmrpc demo`: the story so far, in one process. Loads the bundled complex example, runs `mul`
/// on random numbers through an instance pool, and checks each answer against Swift arithmetic.
/// (The registry server joins the story in a later step; see README.)
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bundled complex example in-process and check its answers.")

    @Option(help: "The complex example module.")
    var module = "Guests/complex/complex.wasm"

    @Option(help: "How many random multiplications to run.")
    var count = 5

    @Option(help: "Seed for the random numbers (default: random).")
    var seed: UInt64?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .info
            return handler
        }
        let seed = self.seed ?? UInt64.random(in: 0 ... .max)
        do {
            try runDemo(seed: seed)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func runDemo(seed: UInt64) throws {
        print("• loading \(module)")
        let bytes = try ModuleFile.read(module)
        var configuration = WapcConfiguration()
        configuration.timeout = .seconds(1)
        let loaded: WapcModule
        do {
            loaded = try WapcModule.load(bytes: bytes, configuration: configuration)
        } catch {
            throw CommandFailure(error)
        }
        print("  \(bytes.count) bytes; imports \(loaded.imports.joined(separator: ", "))")
        let pool = InstancePool(module: loaded, configuration: configuration, maxInstances: 2)
        var generator = SeededGenerator(seed: seed)
        print("• calling mul \(count) times with random numbers (--seed \(seed))")
        for _ in 0..<count {
            func random() -> ComplexNumber {
                ComplexNumber(
                    real: (Float.random(in: -100...100, using: &generator) * 100).rounded() / 100,
                    imag: (Float.random(in: -100...100, using: &generator) * 100).rounded() / 100)
            }
            let (a, b) = (random(), random())
            let response: [UInt8]
            do {
                response = try pool.invoke(operation: "mul", payload: ComplexNumber.request(a, b))
            } catch {
                throw CommandFailure(error)
            }
            guard let result = ComplexNumber(response: response) else {
                throw CommandFailure("the guest's response is not a ComplexResponse: \(response)")
            }
            let expected = a * b
            guard result.real.bitPattern == expected.real.bitPattern, result.imag.bitPattern == expected.imag.bitPattern else {
                throw CommandFailure("(\(a)) × (\(b)): the guest said \(result), Swift says \(expected)")
            }
            print("  (\(a)) × (\(b)) = \(result)  ✓ matches Swift arithmetic")
        }
        print("• done: \(count) calls, all answers verified")
    }
}
