import ArgumentParser
import Client
import WasmRPCProto

/// `wasmrpc list`: the modules in the registry.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the modules in the registry.")

    @Flag(help: "Print the modules' metadata as JSON (one ListResponse), descriptors included.")
    var json = false

    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let modules = try await connection.withClient { client in try await client.list(includeDescriptors: json) }
        if json {
            print(try Wasmrpc_V1_ListResponse.with { $0.modules = modules }.jsonString())
            return
        }
        if modules.isEmpty {
            printError("no modules yet; add one with `wasmrpc add MODULE.wasm --proto FILE.proto`")
            return
        }
        for module in modules {
            let functions = module.functions.map(\.path).joined(separator: " ")
            print("\(module.id)  \(module.name)  \(module.size) bytes  \(functions)")
        }
    }
}
