import Client
import Foundation
import Server
import Testing
import TestSupport
import WasmRPCProto

/// A client given several servers (`HOST:PORT,HOST:PORT`) spreads its calls over them and goes on
/// with the others when one stops.
@Suite(.timeLimit(.minutes(10))) struct ServerListTests {
    @Test func addressListsAreParsedAndDeduplicated() throws {
        let list = try ServerAddress.resolveList("127.0.0.1:1, [::1]:2,127.0.0.1:1", environment: [:])
        #expect(list == [ServerAddress(host: "127.0.0.1", port: 1), ServerAddress(host: "::1", port: 2)])
        #expect(try ServerAddress.resolveList(nil, environment: ["WASMRPC_SERVER": "a:1,b:2"]).map(\.description) == ["a:1", "b:2"])
        #expect(throws: ClientError.self) { try ServerAddress.resolveList("a:1,,b:2", environment: [:]) }
        #expect(throws: ClientError.self) { try ServerAddress.resolveList("a:1,b", environment: [:]) }
    }

    /// Two independent servers sign their logs with different keys, so the key in a checkpoint's
    /// answer tells which server answered.
    @Test func callsGoRoundRobinAndSkipAServerThatStopped() async throws {
        try await withRunningServer(transport: .network) { _, first in
            let firstPort = try await first.listeningPort()
            try await withRunningServer(transport: .network) { _, second in
                let addresses = [ServerAddress(host: "127.0.0.1", port: firstPort), ServerAddress(host: "127.0.0.1", port: try await second.listeningPort())]
                try await WasmRPCClient.withClient(to: addresses) { client in
                    var keys: [String: Int] = [:]
                    // Bounded: the second connection may take a few calls to be ready.
                    for _ in 0..<200 where keys.count < 2 || keys.values.min()! < 5 {
                        keys[try await client.logService.getCheckpoint(Wasmrpc_V1_GetCheckpointRequest()).verifierKey, default: 0] += 1
                    }
                    #expect(keys.count == 2 && keys.values.allSatisfy { $0 >= 5 }, "\(keys)")
                    // The second stops; then calls go on, to the first only (bounded: calls that
                    // met the second while it closed may fail).
                    second.shutdown()
                    let firstKey = first.runtime.store.log.signer.verifier.encoded
                    var answeredByFirst = 0
                    for _ in 0..<500 where answeredByFirst < 20 {
                        let key = try? await client.logService.getCheckpoint(Wasmrpc_V1_GetCheckpointRequest()).verifierKey
                        answeredByFirst = key == firstKey ? answeredByFirst + 1 : 0
                    }
                    #expect(answeredByFirst == 20)
                }
            }
        }
    }
}
