import ArgumentParser

/// The `wasmrpc` command line: one subcommand per file in this target.
public struct WasmRPC: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wasmrpc",
        abstract: "Run sandboxed WebAssembly (waPC) functions.",
        discussion: """
            wasmrpc runs waPC modules (https://wapc.io) in WasmKit with fuel, deadline and memory \
            limits. Guests written with the Swift WapcGuest SDK (Guests/), Rust wapc-guest, TinyGo \
            or AssemblyScript are supported.
            """,
        version: "0.1.0",
        subcommands: [Call.self, Demo.self]
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
