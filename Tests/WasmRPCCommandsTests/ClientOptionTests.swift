import Client
import GRPCCore
import Testing
@testable import WasmRPCCommands

@Suite struct ClientOptionTests {
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
