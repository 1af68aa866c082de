import CallCore
import Client
import Foundation
import GRPCCore
@testable import GRPCFrontDoor
@testable import Server
import SwiftProtobuf
import Testing
import WasmRPCProto
import TestSupport
import WasmRPCGRPC

/// Server reflection, v1 and v1alpha: what grpcurl-style clients use to discover the services and
/// build requests without generated code.
@Suite(.timeLimit(.minutes(10))) struct ReflectionTests {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    /// Sends `requests` on one stream and collects the answers.
    func ask(_ client: WasmRPCClient, _ requests: [Request]) async throws -> [Response] {
        try await client.reflection.serverReflectionInfo(
            requestProducer: { writer in try await writer.write(contentsOf: requests) },
            onResponse: { response in
                var answers: [Response] = []
                for try await message in response.messages { answers.append(message) }
                return answers
            })
    }

    func files(_ response: Response) throws -> [Google_Protobuf_FileDescriptorProto] {
        guard case .fileDescriptorResponse(let files)? = response.messageResponse else {
            Issue.record("expected files, got \(response.messageResponse.map { "\($0)" } ?? "nothing")")
            return []
        }
        return try files.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
    }

    @Test func listsBuiltInAndUploadedServices() async throws {
        try await withServer { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            let answers = try await ask(client, [.with { $0.listServices = "" }])
            let names = answers.first?.listServicesResponse.service.map(\.name) ?? []
            #expect(
                Set(names) == [
                    "wasmrpc.v1.Registry", "wasmrpc.v1.Invoker", "wasmrpc.v1.Log", "wasmrpc.v1.State", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection", "complex.Calculator",
                ])
            #expect(names.count == 8)
        }
    }

    @Test func answersSymbolFileAndExtensionQueries() async throws {
        try await withServer { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            let answers = try await ask(
                client,
                [
                    .with { $0.fileContainingSymbol = "complex.Calculator" },
                    .with { $0.fileContainingSymbol = "complex.Calculator.mul" },
                    .with { $0.fileContainingSymbol = "complex.ComplexRequest" },
                    .with { $0.fileByFilename = "wasmrpc/v1/wasmrpc.proto" },
                    .with { $0.fileContainingSymbol = "grpc.health.v1.Health" },
                    .with { $0.fileContainingSymbol = "complex.Nope" },
                    .with { $0.fileByFilename = "nope.proto" },
                    .with { $0.allExtensionNumbersOfType = "google.protobuf.MessageOptions" },
                    .with { $0.fileContainingExtension = .with { $0.containingType = "complex.ComplexRequest"; $0.extensionNumber = 100 } },
                ])
            try #require(answers.count == 9)
            for answer in answers[0..<3] {
                let complexFile = try files(answer).first
                #expect(complexFile?.package == "complex")
                #expect(complexFile?.service.first?.name == "Calculator")
                #expect(complexFile?.messageType.contains { $0.name == "ComplexRequest" } == true)
            }
            // The requested file first, then what it imports (any.proto, descriptor.proto, …).
            let wasmrpc = try files(answers[3])
            #expect(wasmrpc.first?.name == "wasmrpc/v1/wasmrpc.proto")
            #expect(Set(wasmrpc.dropFirst().map(\.name)).isSuperset(of: ["google/protobuf/any.proto", "google/protobuf/descriptor.proto"]))
            #expect(try files(answers[4]).first?.name == "grpc/health/v1/health.proto")
            for answer in answers[5...6] + [answers[8]] {
                #expect(answer.errorResponse.errorCode == Int32(Status.Code.notFound.rawValue))
                #expect(!answer.errorResponse.errorMessage.isEmpty)
            }
            #expect(answers[7].allExtensionNumbersResponse.baseTypeName == "google.protobuf.MessageOptions")
            #expect(answers[7].allExtensionNumbersResponse.extensionNumber.isEmpty)
            // Every answer echoes its request.
            #expect(answers[0].originalRequest.fileContainingSymbol == "complex.Calculator")
        }
    }

    /// Two modules with a file of the same name: the newest one's version is served (as the newest
    /// module serves the path).
    @Test func theNewestModulesFileWins() async throws {
        try await withServer { client in
            let first = descriptorSet(package: "same", messages: ["M": ["a"]], services: [("S", [("run", "M", "M")])])
            let second = descriptorSet(package: "same", messages: ["M": ["a", "b"]], services: [("S", [("run", "M", "M")])])
            _ = try await client.add(wasm: complexWasm, descriptorSet: first)
            _ = try await client.add(wasm: NativeRouteTests.mirrorWasm, descriptorSet: second)
            let answers = try await ask(client, [.with { $0.fileByFilename = "same.proto" }])
            #expect(try files(answers[0]).first?.messageType.first?.field.map(\.name) == ["a", "b"])
        }
    }

    /// v1alpha: the same answers under the old package name.
    @Test func v1alphaAnswersToo() async throws {
        try await withServer { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            let alpha = Grpc_Reflection_V1alpha_ServerReflection.Client(wrapping: client.grpc)
            let answers = try await alpha.serverReflectionInfo(
                requestProducer: { writer in
                    try await writer.write(.with { $0.listServices = "" })
                    try await writer.write(.with { $0.fileContainingSymbol = "complex.Calculator" })
                },
                onResponse: { response in
                    var answers: [Grpc_Reflection_V1alpha_ServerReflectionResponse] = []
                    for try await message in response.messages { answers.append(message) }
                    return answers
                })
            try #require(answers.count == 2)
            #expect(answers[0].listServicesResponse.service.map(\.name).contains("complex.Calculator"))
            let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: answers[1].fileDescriptorResponse.fileDescriptorProto[0])
            #expect(file.package == "complex")
        }
    }

    /// A query for a name nobody defines reads no descriptor once the names are indexed, a query
    /// for a defined name reads only a set that defines it, and the parsed sets kept stay within
    /// the configured bytes.
    @Test func queriesReadOnlyTheSetsThatDefineTheNameAndTheCacheStaysWithinItsBytes() async throws {
        let sets = (0..<4).map { n in
            descriptorSet(package: "echo\(n)", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
        }
        let budget = try 2 * (sets[0].serializedBytes() as [UInt8]).count + 10  // room for two of the four sets
        try await withRunningServer(configure: { $0.reflectionCacheBytes = budget }) { client, server in
            for (n, set) in sets.enumerated() { _ = try await client.add(wasm: TestGuests.echoCopy(n), descriptorSet: set) }
            let index = server.reflection
            let unknown = Request.with { $0.fileContainingSymbol = "no.such.Symbol" }
            let first = try await ask(client, [unknown])
            #expect(first.first?.errorResponse.errorCode == Int32(Status.Code.notFound.rawValue))
            #expect(index.descriptorReads == 4)  // the first query indexes every module's names
            _ = try await ask(client, Array(repeating: unknown, count: 20))
            #expect(index.descriptorReads == 4)
            #expect(index.cache.totalCost <= budget && index.cache.count == 2)
            // Each defined symbol is answered from the module that defines it, read again if evicted.
            for n in [0, 3, 1, 2, 0] {
                let answers = try await ask(client, [.with { $0.fileContainingSymbol = "echo\(n).Echo.echo" }])
                #expect(try files(try #require(answers.first)).map(\.package) == ["echo\(n)"])
                #expect(index.cache.totalCost <= budget)
            }
            #expect(index.descriptorReads <= 4 + 5)
        }
    }
}
