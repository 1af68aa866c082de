import ArgumentParser
import Client
import Foundation
import TransparencyLog

/// `wasmrpc get`: fetch a module, verify its hash, save it.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a module and verify it: its bytes hash to its id, and the transparency log proves it.",
        discussion: """
            The receipt's leaf must name the module, its inclusion proof must lead to a checkpoint \
            signed by the log's key (pinned on first use under $XDG_CONFIG_HOME/wasmrpc/logs, or \
            given with --log-key), and that checkpoint must extend the last one this client saw. \
            Nothing is written unless every check passes. Without -o, prints the verified metadata \
            as JSON; with -o FILE, saves the module (-o - writes it to stdout).
            """)

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String

    @Option(name: .shortAndLong, help: "Where to save the module's bytes.")
    var output: String?

    @OptionGroup var logKey: LogKeyOption

    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let trust = try logKey.trust()
        let logged = try await connection.withClient { client in
            try await client.getVerified(try await ModuleReference.resolve(module, with: client), trust: trust)
        }
        let fetched = logged.module
        let proven = "SHA-256 verified, leaf \(logged.leafIndex) of \(logged.checkpoint.size) in \(logged.checkpoint.origin) verified"
        switch output {
        case "-":
            FileHandle.standardOutput.write(Data(fetched.wasm))
        case let path?:
            guard FileManager.default.createFile(atPath: path, contents: Data(fetched.wasm)) else {
                throw CommandFailure("cannot write \(path)")
            }
            printError("saved \(fetched.wasm.count) bytes to \(path); \(proven)")
        case nil:
            print(try fetched.metadata.jsonString())
            printError("\(fetched.wasm.count) bytes; \(proven)")
        }
    }
}
