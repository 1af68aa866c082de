import ArgumentParser

/// The `wasmrpc` command line: one subcommand per file in this target.
public struct WasmRPC: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wasmrpc",
        abstract: "A registry and invoker of sandboxed WebAssembly (waPC) functions over gRPC.",
        discussion: """
            Modules are uploaded with a protobuf descriptor whose services describe their functions, \
            and run in WasmKit with fuel, deadline and memory limits. Guests written with the Swift \
            WapcGuest SDK (Guests/), Rust wapc-guest, TinyGo or AssemblyScript are supported. \
            Commands that talk to a server use --server HOST:PORT, else $WASMRPC_SERVER, else \
            127.0.0.1:50051.
            """,
        version: "0.1.0",
        subcommands: [
            Serve.self, Add.self, Get.self, List.self, Describe.self, Invoke.self, StateCommand.self, TransactionCommand.self, LogCommand.self,
            Call.self, Demo.self, Bench.self, Migrate.self,
        ]
    )

    public init() {}
}

extension WasmRPC {
    /// Parses `CommandLine.arguments`, runs the chosen subcommand, and exits with its status.
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
