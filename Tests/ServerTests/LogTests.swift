import Client
import ContentStore
import Crypto
import Foundation
import GRDB
import SwiftProtobuf
import Testing
import TransparencyLog
import WasmRPCProto
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct LogTests {
    @Test func addAndGetCarryReceiptsThatVerify() async throws {
        let trust = LogTrust(directory: temporaryDirectory())
        defer { try? FileManager.default.removeItem(atPath: trust.directory) }
        try await withServer { client in
            let (note, key) = try await client.logCheckpoint()
            #expect(try Checkpoint(body: key.verify(note)).size == 0)
            var ids: [ModuleID] = []
            for n in 0..<5 {
                let added = try await client.add(wasm: TestGuests.echoCopy(n), descriptorSet: TestGuests.echoDescriptor)
                let receipt = added.receipt
                #expect(receipt.leafIndex == UInt64(n))
                let checkpoint = try Checkpoint(body: key.verify(receipt.checkpoint))
                #expect(checkpoint.size == Int64(n + 1))
                try MerkleTree.verifyInclusion(
                    index: Int64(receipt.leafIndex), size: checkpoint.size, leafHash: MerkleTree.leafHash(receipt.leaf),
                    proof: receipt.inclusionProof.map(Array.init), root: checkpoint.rootHash)
                ids.append(try #require(ModuleID(hex: added.metadata.id)))
            }
            // Adding the same bytes again appends nothing.
            let again = try await client.add(wasm: TestGuests.echoCopy(0), descriptorSet: TestGuests.echoDescriptor)
            #expect(again.receipt.leafIndex == 0 && again.receipt.treeSize == 5)

            let first = try await client.getVerified(ids[0], trust: trust)
            #expect(first.entry.id == ids[0].hex && first.checkpoint.size == 5 && first.previous == nil)
            #expect(try trust.pinnedKey(origin: "wasmrpc.local/log") == key)
            _ = try await client.add(wasm: TestGuests.echoCopy(5), descriptorSet: TestGuests.echoDescriptor)
            let later = try await client.getVerified(ids[3], trust: trust)
            #expect(later.previous?.size == 5 && later.checkpoint.size == 6 && later.leafIndex == 3)

            // The Log service's proofs and entries.
            let entries = try await client.logService.getEntries(.with { $0.start = 1; $0.count = 2 })
            #expect(try entries.leaves.map { try ModuleLogEntry(parsing: Array($0)).id } == [ids[1].hex, ids[2].hex])
            let proof = try await client.logService.getInclusionProof(.with { $0.moduleID = ids[4].hex })
            #expect(proof.leafIndex == 4 && proof.treeSize == 6)
            try MerkleTree.verifyInclusion(
                index: 4, size: 6, leafHash: MerkleTree.leafHash(proof.leaf), proof: proof.hashes.map(Array.init),
                root: later.checkpoint.rootHash)
            #expect(await statusCode { try await client.logService.getInclusionProof(.with { $0.leafIndex = 6 }) } == .invalidArgument)
            #expect(await statusCode { try await client.logService.getConsistencyProof(.with { $0.first = 7 }) } == .invalidArgument)
        }
    }

    @Test func aServerWithAForkedHistoryIsCaught() async throws {
        let trust = LogTrust(directory: temporaryDirectory())
        defer { try? FileManager.default.removeItem(atPath: trust.directory) }
        let key = try NoteSigner(name: "wasmrpc.local/log", key: Curve25519.Signing.PrivateKey()).encoded
        // The history the client sees first: module 1.
        let target = try await withServer(configure: { $0.logKey = key }) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: TestGuests.echoCopy(1), descriptorSet: TestGuests.echoDescriptor).metadata.id))
            _ = try await client.getVerified(id, trust: trust)
            return id
        }
        // The same key, a rewritten history: module 2 first, then module 1.
        try await withServer(configure: { $0.logKey = key }) { client in
            _ = try await client.add(wasm: TestGuests.echoCopy(2), descriptorSet: TestGuests.echoDescriptor)
            _ = try await client.add(wasm: TestGuests.echoCopy(1), descriptorSet: TestGuests.echoDescriptor)
            let error = await #expect(throws: ClientError.self) { try await client.getVerified(target, trust: trust) }
            #expect(error?.code == .verificationFailed)
            #expect(error?.message.contains("forked") == true)
            // The plain get (hash check only) still works: the bytes are right, the history is not.
            _ = try await client.get(target)
        }
        // Another key: the signature does not verify against the pinned one.
        try await withServer { client in
            _ = try await client.add(wasm: TestGuests.echoCopy(1), descriptorSet: TestGuests.echoDescriptor)
            let error = await #expect(throws: ClientError.self) { try await client.getVerified(target, trust: trust) }
            #expect(error?.message.contains("signature") == true)
        }
    }

    @Test func tamperedRowsHashesAndCheckpointsAreCaughtByTheClient() async throws {
        let data = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let ids = try await withServer(directory: data) { client in
            var ids: [ModuleID] = []
            for n in 0..<3 { ids.append(try #require(ModuleID(hex: try await client.add(wasm: TestGuests.echoCopy(n), descriptorSet: TestGuests.echoDescriptor).metadata.id))) }
            return ids
        }
        let edits: [(String, String)] = [
            ("a module row", "UPDATE module SET name = 'someone else' WHERE leaf_index = 1"),
            ("a stored hash", "UPDATE log_node SET hash = zeroblob(32) WHERE level = 0 AND idx = 0"),
            ("the checkpoint", "UPDATE log_checkpoint SET note = replace(note, char(10) || '3' || char(10), char(10) || '2' || char(10)) WHERE size = 3"),
        ]
        for (what, sql) in edits {
            let copy = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try FileManager.default.copyItem(atPath: data, toPath: copy)
            let queue = try DatabaseQueue(path: copy + "/wasmrpc.sqlite")
            try await queue.write { try $0.execute(sql: sql) }
            try queue.close()
            let trust = LogTrust(directory: temporaryDirectory())
            defer { try? FileManager.default.removeItem(atPath: trust.directory) }
            try await withServer(directory: copy) { client in
                var caught = false
                for id in ids {
                    do {
                        _ = try await client.getVerified(id, trust: trust)
                    } catch {
                        caught = true
                    }
                }
                #expect(caught, "editing \(what) went unnoticed")
            }
        }
    }
}
