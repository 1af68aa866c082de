import ArgumentParser
import Client
import DynamicProto
import Foundation

/// `wasmrpc invoke`: call a function with a message built from JSON or at random.
struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invoke a module's function and print the result as proto3 JSON.",
        discussion: """
            The request is built from the module's descriptor: from proto3 JSON (--json '{…}', \
            --json @FILE, --json - for stdin) or at random (--random, printed on stderr first). A call \
            that changed the module's state answers with its transaction's receipt: it is verified \
            (the leaf records this call, and is in the log everybody sees) and printed on stderr.
            """)

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String

    @Argument(help: "The function: mul, Calculator/mul or complex.Calculator/mul.")
    var function: String

    @Option(help: "The request as proto3 JSON, @FILE, or - for stdin.")
    var json: String?

    @Flag(help: "Send a random request.")
    var random = false

    @Option(help: "Seed for --random (default: random).")
    var seed: UInt64?

    @Option(help: "Deadline of the call, e.g. 500ms, 2s.")
    var timeout: DurationArgument?

    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func validate() throws {
        if (json == nil) == !random { throw ValidationError("give exactly one of --json and --random") }
        if seed != nil, !random { throw ValidationError("--seed needs --random") }
    }

    func run() async throws {
        let trust = try logKey.trust()
        let result = try await connection.withClient { client in
            let id = try await ModuleReference.resolve(module, with: client)
            let pool = try await client.metadata(id).descriptorPool()
            let method = try FunctionName.resolve(function, in: pool)
            let request = try makeRequest(type: method.input, pool: pool)
            let answer = try await client.invokeDecoding(id, function: method, input: request, timeout: timeout?.duration)
            if let receipt = answer.transaction {
                let logged = try await client.verifyTransactionReceipt(
                    receipt, module: id, method: method.methodPath.description, input: answer.sent, output: answer.received, trust: trust)
                printError(
                    "transaction \(logged.entry.id): number \(logged.entry.sequence) of module \(id), leaf \(logged.proven.leafIndex) of "
                        + "\(logged.proven.checkpoint.size) in \(logged.proven.checkpoint.origin) (receipt verified)")
            }
            return answer.output
        }
        print(try result.jsonString())
    }

    func makeRequest(type: MessageID, pool: DescriptorPool) throws -> DynamicMessage {
        if random {
            let seed = self.seed ?? UInt64.random(in: 0 ... .max)
            var generator = SeededRandom(seed: seed)
            let request = DynamicMessage.random(type: type, pool: pool, using: &generator)
            printError("request (--seed \(seed)): \(try request.jsonString())")
            return request
        }
        let text: String
        switch json {
        case "-"?:
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        case let argument? where argument.hasPrefix("@"):
            guard let data = FileManager.default.contents(atPath: String(argument.dropFirst())) else {
                throw CommandFailure("cannot read \(argument.dropFirst())")
            }
            text = String(decoding: data, as: UTF8.self)
        default:
            text = json ?? "{}"
        }
        do {
            return try DynamicMessage(jsonString: text, type: type, pool: pool)
        } catch {
            throw CommandFailure("the request is not a valid \(pool[type].fullName): \(error.message)")
        }
    }
}
