import Client
import ContentStore
import Foundation
import GRPCCore
import Testing
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct PersistenceTests {
    @Test func aRestartedServerKeepsEveryModule() async throws {
        let data = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let added = try await withServer(directory: data) { client in
            try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata
        }
        try await withServer(directory: data) { client in
            let listed = try await client.list(includeDescriptors: true)
            #expect(listed == [added])
            let id = try #require(ModuleID(hex: added.id))
            #expect(try await client.get(id).wasm == complexWasm)
            let (real, imag) = try complexResult(try await client.invoke(id, function: "mul", parameters: try complexRequest((0, 1), (0, 1))))
            #expect(real == -1 && imag == 0)
        }
    }

    @Test func aBlobEditedOnDiskIsDataLossNeverServed() async throws {
        let data = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let id = try await withServer(directory: data) { client in
            try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
        }
        // Flip one byte of the stored module.
        let path = "\(data)/blobs/sha256/\(id.hex.prefix(2))/\(id.hex)"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        try await withServer(directory: data) { client in
            #expect(await statusCode { try await client.get(id) } == .dataLoss)
            #expect(await statusCode { try await client.invoke(id, function: "mul", parameters: try complexRequest((1, 1), (1, 1))) } == .dataLoss)
            // Listing still works: the index is intact, only the bytes are refused.
            let listed = try await client.list()
            #expect(listed.map(\.id) == [id.hex])
        }
    }
}
