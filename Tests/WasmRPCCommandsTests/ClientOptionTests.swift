import Client
import GRPCCore
import Server
import Testing
@testable import WasmRPCCommands

@Suite(.timeLimit(.minutes(10))) struct ClientOptionTests {
    @Test func serverAddressesParse() throws {
        #expect(ServerAddress("127.0.0.1:50051") == ServerAddress(host: "127.0.0.1", port: 50051))
        #expect(ServerAddress("example.com:443") == ServerAddress(host: "example.com", port: 443))
        #expect(ServerAddress("[::1]:8080") == ServerAddress(host: "::1", port: 8080))
        #expect(ServerAddress("[::1]:8080")?.description == "[::1]:8080")
        for bad in ["", "localhost", ":80", "host:", "host:65536", "host:-1", "::1:80", "[::1]80", "host:port"] {
            #expect(ServerAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func theServerComesFromTheFlagThenTheEnvironmentThenTheDefault() throws {
        let environment = ["WASMRPC_SERVER": "10.0.0.1:9000"]
        #expect(try ServerAddress.resolve("127.0.0.1:1", environment: environment) == ServerAddress(host: "127.0.0.1", port: 1))
        #expect(try ServerAddress.resolve(nil, environment: environment) == ServerAddress(host: "10.0.0.1", port: 9000))
        #expect(try ServerAddress.resolve(nil, environment: [:]) == ServerAddress.defaultAddress)
        let error = #expect(throws: ClientError.self) { try ServerAddress.resolve(nil, environment: ["WASMRPC_SERVER": "nope"]) }
        #expect(error?.message.contains("WASMRPC_SERVER") == true)
    }

    @Test func theDataDirectoryFollowsXDG() {
        #expect(DataDirectory.standard(environment: ["XDG_DATA_HOME": "/data", "HOME": "/home/a"]) == "/data/wasmrpc")
        #expect(DataDirectory.standard(environment: ["HOME": "/home/a"]) == "/home/a/.local/share/wasmrpc")
        // XDG requires an absolute path; a relative one is ignored.
        #expect(DataDirectory.standard(environment: ["XDG_DATA_HOME": "rel", "HOME": "/home/a"]) == "/home/a/.local/share/wasmrpc")
        #expect(ClientConfigDirectory.logs(environment: ["XDG_CONFIG_HOME": "/cfg", "HOME": "/home/a"]) == "/cfg/wasmrpc/logs")
        #expect(ClientConfigDirectory.logs(environment: ["HOME": "/home/a"]) == "/home/a/.config/wasmrpc/logs")
    }

    @Test func statusNamesAreTheGRPCNames() {
        #expect(CommandFailure.statusName(.notFound) == "NOT_FOUND")
        #expect(CommandFailure.statusName(.invalidArgument) == "INVALID_ARGUMENT")
        #expect(CommandFailure.statusName(.dataLoss) == "DATA_LOSS")
        #expect(CommandFailure.statusName(.internalError) == "INTERNAL")
    }

    @Test func invokeNeedsExactlyOneInput() {
        #expect(throws: (any Error).self) { try Invoke.parse(["abcd", "mul"]) }
        #expect(throws: (any Error).self) { try Invoke.parse(["abcd", "mul", "--json", "{}", "--random"]) }
        #expect(throws: (any Error).self) { try Invoke.parse(["abcd", "mul", "--json", "{}", "--seed", "1"]) }
        #expect(throws: Never.self) { try Invoke.parse(["abcd", "mul", "--random", "--seed", "1"]) }
    }
}

@Suite(.timeLimit(.minutes(10))) struct ServeLimitsTests {
    func configured(_ arguments: [String], environment: [String: String] = [:]) throws -> WasmRPCServer.Configuration {
        var configuration = WasmRPCServer.Configuration(dataDirectory: "/unused")
        try ServeLimits.parse(arguments).apply(to: &configuration, environment: environment)
        return configuration
    }

    @Test func flagsThenEnvironmentThenDefaults() throws {
        let defaults = try configured([])
        #expect(defaults.runtime.wapc.timeout == .seconds(1))
        #expect(defaults.runtime.maxModuleBytes == 32 << 20)
        #expect(defaults.runtime.maxInstancesPerModule == nil)
        #expect(defaults.runtime.maxIdleInstances == 64)
        #expect(defaults.runtime.maxWait == .seconds(10))
        #expect(defaults.runtime.state.maxKeyBytes == 1024 && defaults.runtime.state.maxStateBytes == 64 << 20)

        let environment = [
            "WASMRPC_TIMEOUT": "250ms", "WASMRPC_MAX_MODULE_BYTES": "1MiB", "WASMRPC_FUEL": "0", "WASMRPC_WORKERS": "3",
            "WASMRPC_MAX_IDLE_INSTANCES": "0", "WASMRPC_STATE_MAX_BYTES": "1GiB",
        ]
        let fromEnvironment = try configured([], environment: environment)
        #expect(fromEnvironment.runtime.maxIdleInstances == 0)
        #expect(fromEnvironment.runtime.instancesPerModule == 1)
        #expect(fromEnvironment.runtime.wapc.timeout == .milliseconds(250))
        #expect(fromEnvironment.runtime.maxModuleBytes == 1 << 20)
        #expect(fromEnvironment.runtime.wapc.fuel == nil)
        #expect(fromEnvironment.runtime.workerThreads == 3)
        #expect(fromEnvironment.runtime.state.maxStateBytes == 1 << 30)

        let flags = try configured(
            ["--timeout", "2s", "--max-module-bytes", "2MiB", "--max-host-calls", "0", "--max-instances-per-module", "1",
             "--memory-limit", "8MiB", "--max-response-bytes", "1KiB", "--max-wait", "3s", "--inline-calls", "0",
             "--max-log-lines-per-call", "7", "--log-lines-per-second", "0", "--state-max-key-bytes", "64",
             "--state-max-value-bytes", "4KiB", "--state-max-writes", "10", "--state-max-bytes", "1MiB"],
            environment: environment)
        #expect(flags.runtime.wapc.timeout == .seconds(2))
        #expect(flags.runtime.maxModuleBytes == 2 << 20)
        #expect(flags.runtime.wapc.maxHostCalls == 0)
        #expect(flags.runtime.maxInstancesPerModule == 1)
        #expect(flags.runtime.wapc.memoryLimit == 8 << 20)
        #expect(flags.runtime.wapc.maxResponseBytes == 1024)
        #expect(flags.runtime.maxWait == .seconds(3))
        #expect(flags.runtime.inlineCalls == 0)
        #expect(flags.runtime.wapc.maxLogLinesPerCall == 7)
        #expect(flags.runtime.wapc.logLinesPerSecond == 0)
        let state = flags.runtime.state
        #expect(state.maxKeyBytes == 64 && state.maxValueBytes == 4096 && state.maxWritesPerTransaction == 10 && state.maxStateBytes == 1 << 20)
    }

    @Test func badValuesAreClearErrors() {
        #expect(throws: (any Error).self) { try configured([], environment: ["WASMRPC_TIMEOUT": "soon"]) }
        #expect(throws: (any Error).self) { try configured(["--workers", "0"]) }
        #expect(throws: (any Error).self) { try configured([], environment: ["WASMRPC_LOADED_MODULES": "-1"]) }
        #expect(throws: (any Error).self) { try configured([], environment: ["WASMRPC_INLINE_CALLS": "-1"]) }
        #expect(throws: (any Error).self) { try configured(["--state-max-writes", "0"]) }
        #expect(throws: (any Error).self) { try ServeLimits.parse(["--max-module-bytes", "lots"]) }
    }
}
