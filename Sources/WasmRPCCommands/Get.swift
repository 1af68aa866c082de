import ArgumentParser
import Client
import Foundation

/// `wasmrpc get`: fetch a module, verify its hash, save it.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a module and verify that its bytes hash to its id.",
        discussion: "Without -o, prints the verified metadata as JSON; with -o FILE, saves the module (-o - writes it to stdout).")

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String

    @Option(name: .shortAndLong, help: "Where to save the module's bytes.")
    var output: String?

    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let fetched = try await connection.withClient { client in
            try await client.get(try await ModuleReference.resolve(module, with: client))
        }
        switch output {
        case "-":
            FileHandle.standardOutput.write(Data(fetched.wasm))
        case let path?:
            guard FileManager.default.createFile(atPath: path, contents: Data(fetched.wasm)) else {
                throw CommandFailure("cannot write \(path)")
            }
            printError("saved \(fetched.wasm.count) bytes to \(path); SHA-256 verified: \(fetched.id)")
        case nil:
            print(try fetched.metadata.jsonString())
            printError("\(fetched.wasm.count) bytes; SHA-256 verified: \(fetched.id)")
        }
    }
}
