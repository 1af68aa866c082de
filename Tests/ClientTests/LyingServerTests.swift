import Client
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing
@testable import TransparencyLog
import WasmRPCProto
import WasmRPCCore
import TestSupport
import WasmRPCGRPC

/// The client against a server that lies: a proxy in front of a real server changes one thing in
/// its answers (a size, a number near the type's limit, a proof, a checkpoint, another module's
/// receipt). Every lie must end in a `ClientError` the user can read — never a crash, never a
/// module or proof accepted.
@Suite(.timeLimit(.minutes(10))) struct LyingServerTests {
    /// What the proxy changes in the real server's answers.
    struct Lies: Sendable {
        var get: @Sendable (inout Wasmrpc_V1_GetResponse, _ upstream: WasmRPCClient) async throws -> Void = { _, _ in }
        var consistency: @Sendable (inout Wasmrpc_V1_GetConsistencyProofResponse) -> Void = { _ in }
    }

    struct LyingRegistry: Wasmrpc_V1_Registry.SimpleServiceProtocol {
        let upstream: WasmRPCClient
        let lies: Lies
        func add(request: Wasmrpc_V1_AddRequest, context: ServerContext) async throws -> Wasmrpc_V1_AddResponse {
            try await upstream.registry.add(request)
        }
        func get(request: Wasmrpc_V1_GetRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetResponse {
            var response = try await upstream.registry.get(request)
            try await lies.get(&response, upstream)
            return response
        }
        func list(request: Wasmrpc_V1_ListRequest, context: ServerContext) async throws -> Wasmrpc_V1_ListResponse {
            try await upstream.registry.list(request)
        }
    }

    struct LyingLog: Wasmrpc_V1_Log.SimpleServiceProtocol {
        let upstream: WasmRPCClient
        let lies: Lies
        func getCheckpoint(request: Wasmrpc_V1_GetCheckpointRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetCheckpointResponse {
            try await upstream.logService.getCheckpoint(request)
        }
        func getInclusionProof(
            request: Wasmrpc_V1_GetInclusionProofRequest, context: ServerContext
        ) async throws -> Wasmrpc_V1_GetInclusionProofResponse {
            try await upstream.logService.getInclusionProof(request)
        }
        func getConsistencyProof(
            request: Wasmrpc_V1_GetConsistencyProofRequest, context: ServerContext
        ) async throws -> Wasmrpc_V1_GetConsistencyProofResponse {
            var response = try await upstream.logService.getConsistencyProof(request)
            lies.consistency(&response)
            return response
        }
        func getEntries(request: Wasmrpc_V1_GetEntriesRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetEntriesResponse {
            try await upstream.logService.getEntries(request)
        }
    }

    /// Runs `body` with a client of a proxy that tells `lies` about `upstream`'s answers.
    func withLiar<T: Sendable>(_ upstream: WasmRPCClient, _ lies: Lies, _ body: (WasmRPCClient) async throws -> T) async throws -> T {
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [LyingRegistry(upstream: upstream, lies: lies), LyingLog(upstream: upstream, lies: lies)])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            guard let port = try await transport.listeningAddress.ipv4?.port else { throw ClientError(.invalidAddress, "no port") }
            return try await WasmRPCClient.withClient(to: ServerAddress(host: "127.0.0.1", port: port), body)
        }
    }

    /// Three echo modules on a real server; `body` gets its client, their ids and a trust store
    /// that pins the real log key.
    func withLog(_ body: (WasmRPCClient, [ModuleID], LogTrust) async throws -> Void) async throws {
        let trustDirectory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: trustDirectory) }
        try await withServer { upstream in
            var ids: [ModuleID] = []
            for n in 0..<3 { ids.append(try await upstream.add(wasm: TestGuests.echoCopy(n), descriptorSet: TestGuests.echoDescriptor).id) }
            let key = try await upstream.logCheckpoint().key
            try await body(upstream, ids, LogTrust(directory: trustDirectory, explicitKey: key))
        }
    }

    /// `body` fails with a `ClientError` of `code` whose message contains `words`.
    func expectRefused(
        _ code: ClientError.Code = .verificationFailed, _ words: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> some Any
    ) async {
        do {
            _ = try await body()
            Issue.record("\(what): accepted", sourceLocation: sourceLocation)
        } catch let error as ClientError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains(words), "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): \(type(of: error)) \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyLieInAGetIsAClearError() async throws {
        let another = try NoteSigner(name: "other.example/log", key: Curve25519.Signing.PrivateKey())
        let cases: [(String, String, @Sendable (inout Wasmrpc_V1_GetResponse, WasmRPCClient) async throws -> Void)] = [
            ("tree size 2^64-1", "out of range", { response, _ in response.receipt.treeSize = .max }),
            ("tree size one less", "not its checkpoint's", { response, _ in response.receipt.treeSize -= 1 }),
            ("leaf index 2^64-1", "out of range", { response, _ in response.receipt.leafIndex = .max }),
            ("leaf index past the tree", "not in a tree", { response, _ in response.receipt.leafIndex = response.receipt.treeSize }),
            ("added time 2^63-1 s", "not a valid time", { response, _ in response.metadata.added.seconds = .max }),
            ("added nanoseconds -1", "not a valid time", { response, _ in response.metadata.added.nanos = -1 }),
            ("module size 2^64-1", "does not describe", { response, _ in response.metadata.size = .max }),
            ("proof truncated", "shorter than the tree is deep", { response, _ in response.receipt.inclusionProof.removeLast() }),
            ("proof with a hash more", "longer than the tree is deep", { response, _ in response.receipt.inclusionProof.append(Data(count: 32)) }),
            ("a 5-byte hash", "32 bytes", { response, _ in response.receipt.inclusionProof[0] = Data(count: 5) }),
            ("a flipped proof bit", "does not lead to the root", { response, _ in response.receipt.inclusionProof[0][0] ^= 1 }),
            ("a leaf that is not a leaf", "not a \"wasmrpc module v1\"", { response, _ in response.receipt.leaf = Data("garbage\n".utf8) }),
            ("the checkpoint of another log", "carries no signature by wasmrpc.local/log", { response, _ in
                let checkpoint = try Checkpoint(body: String(response.receipt.checkpoint.split(separator: "\n\n")[0]) + "\n")
                response.receipt.checkpoint = try another.sign(
                    Checkpoint(origin: another.name, size: checkpoint.size, rootHash: checkpoint.rootHash).body)
            }),
            ("an empty checkpoint", "empty", { response, _ in response.receipt.checkpoint = "" }),
            ("the receipt of another module", "does not describe the module", { response, upstream in
                let other = try await upstream.registry.get(.with { $0.id = ModuleID(of: TestGuests.echoCopy(2)).hex })
                response.receipt = other.receipt
            }),
        ]
        try await withLog { upstream, ids, trust in
            for (what, words, lie) in cases {
                try await withLiar(upstream, Lies(get: lie)) { liar in
                    await expectRefused(.verificationFailed, words, what) { try await liar.getVerified(ids[0], trust: trust) }
                }
            }
            // The truth still verifies through the same proxy.
            try await withLiar(upstream, Lies()) { honest in
                let logged = try await honest.getVerified(ids[0], trust: trust)
                #expect(logged.leafIndex == 0 && logged.checkpoint.size == 3)
            }
        }
    }

    @Test func everyLieInAConsistencyProofIsAClearError() async throws {
        let cases: [(String, String, @Sendable (inout Wasmrpc_V1_GetConsistencyProofResponse) -> Void)] = [
            ("a proof for other sizes", "not 1 and 3 as asked", { $0.second = 2 }),
            ("sizes near 2^64", "not 1 and 3 as asked", { $0.first = .max; $0.second = .max }),
            ("proof truncated", "too short", { $0.hashes.removeLast() }),
            ("a hash more", "too long", { $0.hashes.append(Data(count: 32)) }),
            ("a 5-byte hash", "32 bytes", { $0.hashes[0] = Data(count: 5) }),
            ("another second root", "does not reproduce the root of tree 3", { $0.secondRoot[0] ^= 1 }),
        ]
        try await withLog { upstream, _, trust in
            for (what, words, lie) in cases {
                try await withLiar(upstream, Lies(consistency: lie)) { liar in
                    await expectRefused(.verificationFailed, words, what) { try await liar.verifiedConsistency(first: 1, second: 3, trust: trust) }
                }
            }
            // A proof that verifies between roots the server made up, for sizes a signed
            // checkpoint covers, is caught by the checkpoint.
            try await withLiar(upstream, Lies(consistency: { $0 = Self.forgedProof(first: 1, second: 3) })) { liar in
                await expectRefused(.verificationFailed, "differs from the signed checkpoint's", "forged roots") {
                    try await liar.verifiedConsistency(first: 1, second: nil, trust: trust)
                }
            }
            try await withLiar(upstream, Lies()) { honest in
                let proof = try await honest.verifiedConsistency(first: 1, second: nil, trust: trust)
                #expect(proof.second == 3 && proof.vouched == [3])
            }
        }
    }

    /// A consistency proof between two made-up trees of `first` and `second` leaves: it verifies
    /// by itself, but its roots are nobody's.
    static func forgedProof(first: Int64, second: Int64) -> Wasmrpc_V1_GetConsistencyProofResponse {
        let leaves = (0..<second).map { MerkleTree.leafHash(Array("forged \($0)".utf8)) }
        func root(_ hashes: ArraySlice<[UInt8]>) -> [UInt8] {
            if hashes.count == 1 { return hashes[hashes.startIndex] }
            let k = MerkleTree.split(Int64(hashes.count))
            return MerkleTree.nodeHash(root(hashes.prefix(Int(k))), root(hashes.dropFirst(Int(k))))
        }
        let ranges = (try? MerkleTree.consistencyRanges(first: first, second: second)) ?? []
        return .with {
            $0.first = UInt64(first)
            $0.second = UInt64(second)
            $0.hashes = ranges.map { Data(root(leaves[Int($0.0)..<Int($0.1)])) }
            $0.firstRoot = Data(root(leaves[0..<Int(first)]))
            $0.secondRoot = Data(root(leaves[...]))
        }
    }

    @Test func aLieInTheProofThatTheLogGrewIsAClearError() async throws {
        try await withLog { upstream, ids, trust in
            // The client remembers the tree of 3 leaves; the log grows to 4.
            _ = try await upstream.getVerified(ids[0], trust: trust)
            _ = try await upstream.add(wasm: TestGuests.echoCopy(3), descriptorSet: TestGuests.echoDescriptor)
            let lies: [(String, String, @Sendable (inout Wasmrpc_V1_GetConsistencyProofResponse) -> Void)] = [
                ("a proof for other sizes", "not 3 and 4 as asked", { $0.first = 2 }),
                ("proof truncated", "too short", { $0.hashes.removeLast() }),
            ]
            for (what, words, lie) in lies {
                try await withLiar(upstream, Lies(consistency: lie)) { liar in
                    await expectRefused(.verificationFailed, words, what) { try await liar.getVerified(ids[1], trust: trust) }
                }
            }
        }
    }
}
