import Client
import ContentStore
import Foundation
import GRDB
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing
import WAT
import WapcHost
import WasmRPCProto
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct RegistryTests {
    @Test func addGetListAndInvoke() async throws {
        try await withServer { client in
            let added = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            #expect(added.created)
            let metadata = added.metadata
            #expect(metadata.id == ModuleID(of: complexWasm).hex)
            #expect(metadata.name == "complex.Calculator")
            #expect(metadata.size == UInt64(complexWasm.count))
            #expect(metadata.functions.map(\.path) == ["/complex.Calculator/mul"])
            #expect(metadata.functions.first?.inputType == "complex.ComplexRequest")
            #expect(metadata.functions.first?.outputType == "complex.ComplexResponse")
            #expect(metadata.added.seconds > 1_700_000_000)

            let id = try #require(ModuleID(hex: metadata.id))
            let fetched = try await client.get(id)
            #expect(fetched.wasm == complexWasm)
            #expect(fetched.metadata.descriptor == complexDescriptor)

            let listed = try await client.list()
            #expect(listed.map(\.id) == [metadata.id])
            #expect(!listed[0].hasDescriptor)
            #expect(try await client.list(includeDescriptors: true)[0].descriptor == complexDescriptor)

            let result = try await client.invoke(id, function: "mul", parameters: try complexRequest((1, 2), (3, 4)))
            let (real, imag) = try complexResult(result)
            #expect(real == -5)
            #expect(imag == 10)
        }
    }

    @Test func addingTheSameBytesAgainIsIdempotent() async throws {
        try await withServer { client in
            let first = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor, name: "first")
            let second = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor, name: "second")
            #expect(first.created)
            #expect(!second.created)
            #expect(second.metadata.id == first.metadata.id)
            // The stored module is unchanged, name included.
            #expect(second.metadata.name == "first")
            #expect(second.metadata.added == first.metadata.added)
            #expect(try await client.list().count == 1)
        }
    }

    @Test func addingStoredBytesAgainNeitherValidatesNorRunsInitializers() async throws {
        // wapc_init makes the host call test/count once per instance it initializes.
        let wasm = try wat2wasm(#"""
            (module
              (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "testcount")
              (func (export "wapc_init")
                (drop (call $host_call (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 5) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 0))))
              (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
            """#)
        let counter = HostCallCounter()
        try await withServer(configure: { $0.hostCalls.register(counter, binding: "test", namespace: "count") }) { client in
            let first = try await client.add(wasm: wasm, descriptorSet: TestGuests.nothing)
            #expect(first.created)
            #expect(counter.calls.load(ordering: .relaxed) == 1)
            for _ in 0..<3 {
                let again = try await client.add(wasm: wasm, descriptorSet: TestGuests.nothing)
                #expect(!again.created && again.metadata.id == first.metadata.id)
            }
            #expect(counter.calls.load(ordering: .relaxed) == 1)
        }
    }

    @Test func namesAreAtMost256BytesOfText() async throws {
        try await withServer { client in
            let longest = String(repeating: "é", count: 128)  // 256 bytes
            let added = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor, name: longest)
            #expect(added.metadata.name == longest)
            for name in [longest + "x", String(repeating: "n", count: 100_000), "a\u{7}b"] {
                #expect(
                    await statusCode { try await client.add(wasm: echoWasm, descriptorSet: complexDescriptor, name: name) } == .invalidArgument)
            }
            // A first service whose full name is over the limit cannot name the module either.
            let longService = descriptorSet(
                package: String(repeating: "p", count: 260), messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: longService) } == .invalidArgument)
            let listed = try await client.list()
            #expect(listed.map(\.name) == [longest])
        }
    }

    /// List takes the functions' types from the index: after a restart, listing every module
    /// (with or without descriptors) parses only the descriptor of a module stored before the
    /// index recorded them.
    @Test func listParsesNoDescriptor() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withServer(directory: directory) { client in
            for n in 0..<3 { _ = try await client.add(wasm: TestGuests.echoCopy(n), descriptorSet: complexDescriptor) }
        }
        // As stored before the "module-signatures" migration.
        try await DatabaseQueue(path: directory + "/wasmrpc.sqlite").write { db in
            try db.execute(sql: "UPDATE module SET signatures = NULL WHERE leaf_index = 1")
        }
        try await withRunningServer(directory: directory) { client, server in
            let plain = try await client.list()
            let full = try await client.list(includeDescriptors: true)
            #expect(server.runtime.parsedDescriptorCount == 1)
            #expect(plain.count == 3 && full.count == 3)
            #expect(plain[1].functions == plain[0].functions)
            let mul = try #require(plain.first?.functions.first)
            #expect(mul.path == "/complex.Calculator/mul" && mul.service == "complex.Calculator" && mul.name == "mul")
            #expect(mul.inputType == "complex.ComplexRequest" && mul.outputType == "complex.ComplexResponse")
            #expect(full.allSatisfy { $0.descriptor == complexDescriptor } && plain.allSatisfy { !$0.hasDescriptor })
            // The same functions as Get reports from the parsed descriptor.
            let got = try await client.metadata(try #require(ModuleID(hex: plain[0].id)))
            #expect(got.functions == plain[0].functions)
        }
    }

    @Test func aModuleMayCarryItsDescriptorInACustomSection() async throws {
        let descriptor = descriptorSet(
            package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
        let wasm = appendingCustomSection(echoWasm, name: "wasmrpc.descriptor", payload: try descriptor.serializedBytes())
        try await withServer { client in
            let added = try await client.add(wasm: wasm, descriptorSet: nil)
            #expect(added.metadata.functions.map(\.path) == ["/echo.Echo/echo"])
            #expect(added.metadata.descriptor == descriptor)
            let id = try #require(ModuleID(hex: added.metadata.id))
            let text = try Google_Protobuf_Any.with {
                $0.typeURL = "type.googleapis.com/echo.Text"
                $0.value = try Google_Protobuf_StringValue("hello").serializedBytes()  // field 1, a string
            }
            let result = try await client.invoke(id, function: "echo", parameters: text)
            #expect(result.typeURL == "type.googleapis.com/echo.Text")
            #expect(try Google_Protobuf_StringValue(serializedBytes: result.value).value == "hello")
        }
    }

    @Test func invalidModulesAndDescriptorsAreRefusedBeforeAnythingIsStored() async throws {
        let echo = descriptorSet(package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
        try await withServer { client in
            // Not wasm at all.
            #expect(await statusCode { try await client.add(wasm: Array("garbage".utf8), descriptorSet: echo) } == .invalidArgument)
            // Valid wasm that is no waPC module (no __guest_call).
            let empty: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
            #expect(await statusCode { try await client.add(wasm: empty, descriptorSet: echo) } == .invalidArgument)
            // A module that imports what the host does not provide.
            let foreign = try fixture("Tests/Fixtures/foreign-import.wat")
            #expect(await statusCode { try await client.add(wasm: foreign, descriptorSet: echo) } == .invalidArgument)
            // No descriptor, none embedded.
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: nil) } == .invalidArgument)
            // A descriptor without services.
            let noService = descriptorSet(package: "echo", messages: ["Text": ["text"]], services: [])
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: noService) } == .invalidArgument)
            // Not self-contained: imports a file it does not carry.
            let missing = descriptorSet(
                package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])],
                dependencies: ["other.proto"])
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: missing) } == .invalidArgument)
            // A method naming a type nobody defines.
            let unknownType = descriptorSet(package: "echo", messages: [:], services: [("Echo", [("echo", "Text", "Text")])])
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: unknownType) } == .invalidArgument)

            #expect(try await client.list().isEmpty)
        }
    }

    @Test func oversizedModulesAndDescriptorsAreResourceExhausted() async throws {
        try await withServer(configure: {
            $0.runtime.maxModuleBytes = complexWasm.count - 1
            $0.runtime.maxDescriptorBytes = 100
        }) { client in
            #expect(await statusCode { try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor) } == .resourceExhausted)
            // The echo guest is small enough, its descriptor is not.
            #expect(await statusCode { try await client.add(wasm: echoWasm, descriptorSet: complexDescriptor) } == .resourceExhausted)
            // An embedded descriptor obeys the same limit.
            let embedded = appendingCustomSection(echoWasm, name: "wasmrpc.descriptor", payload: try complexDescriptor.serializedBytes())
            #expect(await statusCode { try await client.add(wasm: embedded, descriptorSet: nil) } == .resourceExhausted)
            let listed = try await client.list()
            #expect(listed.isEmpty)
        }
    }

    @Test func unknownAndMalformedIDs() async throws {
        try await withServer { client in
            let unknown = ModuleID(of: Array("nothing".utf8))
            #expect(await statusCode { try await client.get(unknown) } == .notFound)
            #expect(await statusCode { try await client.registry.get(.with { $0.id = "not-an-id" }) } == .invalidArgument)
            #expect(await statusCode { try await client.registry.get(.with { $0.id = unknown.hex.uppercased() }) } == .invalidArgument)
            #expect(await statusCode { try await client.invoke(unknown, function: "mul", parameters: try complexRequest((1, 1), (1, 1))) } == .notFound)
        }
    }

    @Test func listPagesThroughEveryModule() async throws {
        let echo = descriptorSet(package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
        try await withServer { client in
            var ids: [String] = []
            for index in 0..<5 {
                // Distinct bytes, same behaviour: a custom section with a counter.
                let wasm = appendingCustomSection(echoWasm, name: "test.copy", payload: [UInt8(index)])
                ids.append(try await client.add(wasm: wasm, descriptorSet: echo, name: "copy \(index)").metadata.id)
            }
            #expect(try await client.list(pageSize: 2).map(\.id) == ids)
            let first = try await client.registry.list(.with { $0.pageSize = 2 })
            #expect(first.modules.map(\.id) == Array(ids[0..<2]))
            #expect(!first.nextPageToken.isEmpty)
            let last = try await client.registry.list(.with { $0.pageSize = 10 })
            #expect(last.modules.count == 5)
            #expect(last.nextPageToken.isEmpty)
            #expect(await statusCode { try await client.registry.list(.with { $0.pageToken = "x" }) } == .invalidArgument)
        }
    }
}
