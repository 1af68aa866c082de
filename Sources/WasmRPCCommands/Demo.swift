import ArgumentParser
import Client
import ContentStore
import DynamicProto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Server
import SwiftProtobuf
import WasmRPCCore

/// `wasmrpc demo`: the whole story in one process. Starts a server on a free loopback port with a
/// temporary data directory (or `--data`, kept), adds the bundled complex example with its descriptor, lists it,
/// fetches the module back with its transparency-log proof verified, invokes `mul` with random
/// requests built from the descriptor, checks every answer against Swift arithmetic; then adds the
/// fabcar chaincode, creates, queries and changes cars with every receipt verified, re-runs its
/// ledger against the stored state; makes the same multiplication through the JSON API and prints
/// the explorer's address; and stops the server (or, with `--keep-serving`, serves until Ctrl-C).
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run a server in-process, add the complex example and invoke it, then run the fabcar chaincode and verify it, and call the example over HTTP.")

    @Option(help: "The complex example module.")
    var module = "Guests/complex/complex.wasm"

    @Option(help: "Its descriptor set.")
    var descriptorSet = "Guests/complex/complex.pb"

    @Option(help: "The fabcar chaincode.")
    var fabcar = "Guests/fabcar/fabcar.wasm"

    @Option(help: "Its descriptor set.")
    var fabcarDescriptorSet = "Guests/fabcar/fabcar.pb"

    @Option(help: "How many random multiplications to run.")
    var count = 3

    @Option(help: "Seed for the random requests (default: random).")
    var seed: UInt64?

    /// How long a guest may run, and a call of the demo may wait, on a loaded machine.
    static let callDeadline: Duration = .seconds(30)

    @Option(help: "Keep the server's data in this directory, which must not hold a store yet (default: a temporary one, removed).")
    var data: String?

    @Flag(help: "After the story, keep the server (gRPC, JSON API and explorer page) running until Ctrl-C.")
    var keepServing = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        do {
            try await runDemo(seed: seed ?? UInt64.random(in: 0 ... .max))
        } catch let failure as CommandFailure {
            printError("error: \(failure)")
            throw ExitCode.failure
        }
    }

    func runDemo(seed: UInt64) async throws {
        let wasm = try ModuleFile.read(module)
        guard let descriptorData = FileManager.default.contents(atPath: descriptorSet) else {
            throw CommandFailure("cannot read \(descriptorSet)")
        }
        let descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: descriptorData)
        if let kept = self.data, FileManager.default.fileExists(atPath: kept + "/wasmrpc.sqlite") {
            throw CommandFailure("\(kept) holds a store already: give --data a new directory")
        }
        let data = self.data ?? FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-demo-\(UUID().uuidString)").path
        defer { if self.data == nil { try? FileManager.default.removeItem(atPath: data) } }

        var configuration = WasmRPCServer.Configuration(dataDirectory: data)
        configuration.port = 0
        // The demo must not fail on a slow or busy machine: guests get 30 s instead of serve's 1 s,
        // and its calls wait as long (`callDeadline`).
        configuration.runtime.wapc.timeout = Self.callDeadline
        configuration.http = ("127.0.0.1", 0)
        let server = try await WasmRPCServer(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { server.shutdown() }
            let port = try await server.listeningPort()
            guard let httpPort = try await server.httpPort() else { throw CommandFailure("the server did not start its HTTP listener") }
            print("• server listening on 127.0.0.1:\(port) (gRPC) and 127.0.0.1:\(httpPort) (HTTP), data in \(data)")
            let address = ServerAddress(host: "127.0.0.1", port: port)
            let complex = try await WasmRPCClient.withClient(to: address) { client in
                try await story(client: client, wasm: wasm, descriptor: descriptor, seed: seed, data: data)
            }
            let origin = "http://127.0.0.1:\(httpPort)"
            try await jsonStory(origin: origin, module: complex)
            let key = server.runtime.store.log.signer.verifier.encoded
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "+&=#")
            let explorer = "\(origin)/?key=\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)"
            print("• the explorer page: \(explorer)")
            print("  (the JSON API is described at \(origin)/openapi.yaml; the log's tiles are under \(origin)/log/)")
            if keepServing {
                print("• serving until Ctrl-C")
                await Self.waitForInterrupt()
            }
            server.shutdown()
            try await group.waitForAll()
            print("• server stopped")
        }
    }

    /// The multiplication (1+2i)(3+4i) through the JSON API, checked.
    func jsonStory(origin: String, module: ModuleID) async throws {
        let path = "/v1/modules/\(module.hex)/functions/mul"
        let body = #"{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}"#
        guard let url = URL(string: origin + path) else { throw CommandFailure("cannot make a URL of \(origin + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = Double(Self.callDeadline.components.seconds)
        let (data, response) = try await URLSession.shared.data(for: request)
        let answer = String(decoding: data, as: UTF8.self)
        guard (response as? HTTPURLResponse)?.statusCode == 200,
            let json = try JSONSerialization.jsonObject(with: data) as? [String: [String: Double]],
            json["result"] == ["real": -5, "imag": 10]
        else { throw CommandFailure("the JSON API answered \(answer)") }
        print("• the same function over HTTP: curl -d '\(body)' \(origin)\(path)")
        print("  → \(answer)  ✓ (1+2i)(3+4i) = -5+10i")
    }

    /// Returns when the process gets SIGINT (Ctrl-C).
    static func waitForInterrupt() async {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            source.setEventHandler {
                source.cancel()
                continuation.resume()
            }
            source.resume()
        }
    }

    /// The complex part of the demo; the module's id.
    func story(
        client: WasmRPCClient, wasm: [UInt8], descriptor: Google_Protobuf_FileDescriptorSet, seed: UInt64, data: String
    ) async throws -> ModuleID {
        print("• adding \(module) (\(wasm.count) bytes) with its descriptor \(descriptorSet)")
        let added = try await client.add(wasm: wasm, descriptorSet: descriptor)
        print("  id \(added.metadata.id)")

        print("• listing modules")
        for module in try await client.list() {
            print("  \(module.id.prefix(12))…  \(module.name)  \(module.size) bytes  \(module.functions.map(\.path).joined(separator: " "))")
        }

        guard let id = ModuleID(hex: added.metadata.id) else { throw CommandFailure("the server answered with a malformed id") }
        let trust = LogTrust(directory: data + "/client-logs")
        let logged = try await client.getVerified(id, trust: trust)
        let fetched = logged.module
        print("• fetched it back: \(fetched.wasm.count) bytes, SHA-256 matches the id")
        print("  leaf \(logged.leafIndex) of the transparency log; inclusion proof and signed checkpoint verified")

        let pool = try fetched.metadata.descriptorPool()
        let mul = try FunctionName.resolve("mul", in: pool)
        print("• invoking \(mul.path) \(count) times with random \(pool[mul.input].fullName)s (--seed \(seed))")
        var generator = SeededRandom(seed: seed)
        for _ in 0..<count {
            let request = DynamicMessage.random(type: mul.input, pool: pool, using: &generator)
            let result = try await client.invoke(id, function: mul, input: request, timeout: Self.callDeadline)
            print("  request \(try request.jsonString())")
            print("  result  \(try result.jsonString())")
            let a = ComplexValue(request, "a"), b = ComplexValue(request, "b")
            let expected = a * b
            let actual = ComplexValue(result, "result")
            guard actual.matches(expected) else {
                throw CommandFailure("(\(a)) × (\(b)): the guest said \(actual), Swift says \(expected)")
            }
            print("  ✓ (\(a)) × (\(b)) = \(actual), as Swift computes it")
        }
        print("• done: \(count) calls, every answer verified")
        try await fabcarStory(client: client, trust: trust)
        return id
    }

    /// The fabcar chaincode: transactions with verified receipts, queries, and a replay.
    func fabcarStory(client: WasmRPCClient, trust: LogTrust) async throws {
        let wasm = try ModuleFile.read(fabcar)
        guard let descriptorData = FileManager.default.contents(atPath: fabcarDescriptorSet) else {
            throw CommandFailure("cannot read \(fabcarDescriptorSet)")
        }
        let added = try await client.add(wasm: wasm, descriptorSet: try Google_Protobuf_FileDescriptorSet(serializedBytes: descriptorData))
        guard let id = ModuleID(hex: added.metadata.id) else { throw CommandFailure("the server answered with a malformed id") }
        print("• adding the fabcar chaincode \(fabcar): id \(id.hex.prefix(12))…")
        let pool = try added.metadata.descriptorPool()

        /// Calls `method` with the request `json`; prints the answer and the verified receipt.
        func call(_ method: String, _ json: String) async throws -> DynamicMessage {
            let function = try FunctionName.resolve(method, in: pool)
            let request = try DynamicMessage(jsonString: json, type: function.input, pool: pool)
            let answer = try await client.invokeDecoding(id, function: function, input: request, timeout: Self.callDeadline)
            let output = try answer.output.jsonString()
            print("  \(method) \(json) → \(output.count > 120 ? output.prefix(110) + "… (\(output.count) characters)" : output)")
            if let receipt = answer.transaction {
                let logged = try await client.verifyTransactionReceipt(
                    receipt, module: id, method: function.methodPath.description, input: answer.sent, output: answer.received, trust: trust)
                print("    transaction \(logged.entry.sequence), leaf \(logged.proven.leafIndex) of \(logged.proven.checkpoint.size): receipt verified")
            } else {
                print("    a query: nothing recorded")
            }
            return answer.output
        }
        print("• transactions and queries")
        _ = try await call("InitLedger", "{}")
        _ = try await call("CreateCar", #"{"key":"CAR10","car":{"make":"Honda","model":"Accord","colour":"black","owner":"Tom"}}"#)
        _ = try await call("QueryCar", #"{"key":"CAR10"}"#)
        _ = try await call("ChangeCarOwner", #"{"key":"CAR10","newOwner":"Dave"}"#)
        let car = try await call("QueryCar", #"{"key":"CAR10"}"#)
        guard try car.jsonString().contains(#""owner":"Dave""#) else { throw CommandFailure("CAR10's owner did not change: \(try car.jsonString())") }

        print("• re-running the ledger from an empty state (wasmrpc state verify)")
        let outcome = try await StateVerify.replay(id, from: client, trust: trust)
        guard outcome.problems.isEmpty else { throw CommandFailure("the ledger does not replay: \(outcome.problems.joined(separator: "; "))") }
        print("  \(outcome.transactions) transactions replayed: every output, read and write set matches, and so does the stored state (\(outcome.keys) cars)")
    }
}

/// A `complex.Complex` read from a dynamic message field (unset fields are zero).
struct ComplexValue: CustomStringConvertible {
    var real: Float
    var imag: Float

    init(real: Float, imag: Float) {
        self.real = real
        self.imag = imag
    }

    init(_ message: DynamicMessage, _ field: String) {
        guard case .single(.message(let value))? = message.value(forField: field) else {
            self.init(real: 0, imag: 0)
            return
        }
        func number(_ name: String) -> Float {
            if case .single(.float(let x))? = value.value(forField: name) { return x }
            return 0
        }
        self.init(real: number("real"), imag: number("imag"))
    }

    static func * (a: ComplexValue, b: ComplexValue) -> ComplexValue {
        ComplexValue(real: a.real * b.real - a.imag * b.imag, imag: a.real * b.imag + a.imag * b.real)
    }

    /// Bit-for-bit equal, or NaN where the other is NaN.
    func matches(_ other: ComplexValue) -> Bool {
        func same(_ x: Float, _ y: Float) -> Bool { x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
        return same(real, other.real) && same(imag, other.imag)
    }

    var description: String { "\(real) \(imag.sign == .minus ? "-" : "+") \(imag.magnitude)i" }
}
