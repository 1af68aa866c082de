import CallCore
import Client
import ContentStore
import Foundation
import GRPCCore
import Server
import Testing
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct AuthTests {
    /// Runs `body` with a client carrying `token` against a server started with `policy`.
    func withClient(
        policy: AccessPolicy, token: String?, transport: TestTransport, _ body: (WasmRPCClient) async throws -> Void
    ) async throws {
        try await withServer(configure: { $0.access = policy }, token: token, transport: transport, body)
    }

    @Test(arguments: TestTransport.allCases) func writesNeedTheTokenReadsStayOpen(transport: TestTransport) async throws {
        let policy = AccessPolicy(token: "s3cret")
        for token in [nil, "wrong", "s3cret "] as [String?] {
            try await withClient(policy: policy, token: token, transport: transport) { client in
                #expect(await statusCode { try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor) } == .unauthenticated, "\(token ?? "none")")
                let listed = try await client.list()  // reads are open
                #expect(listed.isEmpty)
            }
        }
        try await withClient(policy: policy, token: "s3cret", transport: transport) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            _ = try complexResult(try await client.invoke(id, function: "mul", parameters: try complexRequest((1, 0), (1, 0))))
        }
    }

    @Test(arguments: TestTransport.allCases) func protectedReadsNeedTheTokenToo(transport: TestTransport) async throws {
        let policy = AccessPolicy(token: "s3cret", protectReads: true)
        try await withClient(policy: policy, token: nil, transport: transport) { client in
            #expect(await statusCode { try await client.list() } == .unauthenticated)
            #expect(await statusCode { try await client.logCheckpoint() } == .unauthenticated)
            let unknown = ModuleID(of: [1])
            #expect(await statusCode { try await client.invoke(unknown, function: "mul", parameters: try complexRequest((1, 0), (1, 0))) } == .unauthenticated)
            #expect(await statusCode { try await client.state.get(.with { $0.moduleID = unknown.hex }) } == .unauthenticated)
            #expect(await statusCode { try await client.state.listTransactions(.with { $0.moduleID = unknown.hex }) } == .unauthenticated)
        }
        try await withClient(policy: policy, token: "s3cret", transport: transport) { client in
            let listed = try await client.list()
            #expect(listed.isEmpty)
        }
    }
}
