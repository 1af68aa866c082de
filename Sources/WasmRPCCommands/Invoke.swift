import ArgumentParser
import Client
import DynamicProto
import Foundation
import WasmRPCCore

/// `wasmrpc invoke`: call a function with a message built from JSON or at random.
struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invoke a module's function and print the result as proto3 JSON.",
        discussion: """
            The request is built from the module's descriptor: from proto3 JSON (--json '{…}', \
            --json @FILE, --json - for stdin) or at random (--random, printed on stderr first). A call \
            that changed the module's state answers with its transaction's receipt: it is verified \
            (the leaf records this call, and is in the log everybody sees) and printed on stderr.

            A call of a method that may change state (any method not marked NO_SIDE_EFFECTS) is \
            sent with an idempotency key, a new random one unless --idempotency-key gives it, and \
            retried with that key after ABORTED and UNAVAILABLE (--retries): however often it is \
            sent, it changes the state at most once. If its outcome stays unknown (the answer was \
            lost), the key is printed: the same command with --idempotency-key KEY answers what \
            the first call did, or runs it if it never ran.
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

    @Option(help: "Deadline of each try of the call, e.g. 500ms, 2s.")
    var timeout: DurationArgument?

    @Option(help: "The call's idempotency key (1–128 printable ASCII characters, no spaces; default: a new random one).")
    var idempotencyKey: String?

    @Option(help: "Times to retry after ABORTED or UNAVAILABLE, with the same key (0: never).")
    var retries = 4

    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func validate() throws {
        if (json == nil) == !random { throw ValidationError("give exactly one of --json and --random") }
        if seed != nil, !random { throw ValidationError("--seed needs --random") }
        if let idempotencyKey, IdempotencyKey(idempotencyKey) == nil {
            throw ValidationError("--idempotency-key takes 1 to \(IdempotencyKey.maxLength) printable ASCII characters without spaces")
        }
        if retries < 0 { throw ValidationError("--retries cannot be negative") }
    }

    func run() async throws {
        let trust = try logKey.trust()
        let result = try await connection.withClient { client in
            let id = try await ModuleReference.resolve(module, with: client)
            let pool = try await client.metadata(id).descriptorPool()
            let method = try FunctionName.resolve(function, in: pool)
            let seed = random ? self.seed ?? UInt64.random(in: 0 ... .max) : nil
            let request = try makeRequest(type: method.input, pool: pool, seed: seed)
            // Queries change nothing: they need no key.
            let key = method.idempotencyLevel == .noSideEffects ? nil : idempotencyKey.flatMap(IdempotencyKey.init) ?? IdempotencyKey.random()
            // The flags that send this call again.
            let again = key.map { "--idempotency-key \($0)" + (seed.map { " --seed \($0)" } ?? "") } ?? ""
            let answer = try await call(key, again: again) {
                try await client.invokeDecoding(id, function: method, input: request, timeout: timeout?.duration, idempotencyKey: key)
            }
            if answer.replayed {
                printError("idempotency key \(key?.text ?? ""): the answer of the call that first used the key (this one did not run)")
            }
            if let receipt = answer.transaction {
                let logged: LoggedTransaction
                do {
                    logged = try await client.verifyTransactionReceipt(
                        receipt, module: id, method: method.methodPath.description, input: answer.sent, output: answer.received, trust: trust)
                } catch {
                    if key != nil {
                        printError(
                            "the server answered that the call committed as transaction \(receipt.id), but that could not be verified; the same "
                                + "command with \(again) asks again without running the call twice")
                    }
                    throw error
                }
                printError(
                    "transaction \(logged.entry.id): number \(logged.entry.sequence) of module \(id), leaf \(logged.proven.leafIndex) of "
                        + "\(logged.proven.checkpoint.size) in \(logged.proven.checkpoint.origin) (receipt verified)")
            }
            return answer.output
        }
        print(try result.jsonString())
    }

    /// Runs `body` with `CallRetry`, telling of each retry on stderr; when the call fails with
    /// its outcome unknown, names the flags (`again`: its key) that learn it.
    private func call<T: Sendable>(_ key: IdempotencyKey?, again: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await CallRetry(retries: retries).run(retrying: { attempt, error in
                printError("try \(attempt) of \(retries + 1) failed (\(error)); trying again" + (key.map { " with idempotency key \($0)" } ?? ""))
            }, body)
        } catch {
            if key != nil, CallRetry.outcomeIsUnknown(error) {
                printError(
                    "the call's outcome is unknown (it may have changed the state); the same command with \(again) "
                        + "gets its answer, or runs it if it never ran")
            }
            throw error
        }
    }

    /// The request: random from `seed` (with --random), else from --json.
    func makeRequest(type: MessageID, pool: DescriptorPool, seed: UInt64?) throws -> DynamicMessage {
        if let seed {
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
