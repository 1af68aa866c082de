import ContentStore
import DynamicProto
import ModuleRuntime
import SwiftProtobuf
import Testing
@testable import Server
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct PartsTests {
    @Test func grpcTimeoutHeadersParse() {
        #expect(GRPCTimeout.parse("5010m") == .milliseconds(5010))
        #expect(GRPCTimeout.parse("1S") == .seconds(1))
        #expect(GRPCTimeout.parse("2M") == .seconds(120))
        #expect(GRPCTimeout.parse("1H") == .seconds(3600))
        #expect(GRPCTimeout.parse("250u") == .microseconds(250))
        #expect(GRPCTimeout.parse("99999999n") == .nanoseconds(99_999_999))
        for bad in ["", "m", "5", "5x", "-5m", "123456789m", "1.5S", " 5m"] {
            #expect(GRPCTimeout.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func typeURLsNameTheTypeByTheirLastSegment() throws {
        let interface = try ModuleInterface(descriptorSet: try complexDescriptor.serializedBytes())
        let input = try #require(interface.pool.message(named: "complex.ComplexRequest"))
        #expect(interface.typeURL(of: input) == "type.googleapis.com/complex.ComplexRequest")
        for accepted in ["", "type.googleapis.com/complex.ComplexRequest", "a.b/c/complex.ComplexRequest", "complex.ComplexRequest"] {
            #expect(interface.typeURL(accepted, names: input), "\(accepted)")
        }
        for refused in ["type.googleapis.com/complex.Complex", "type.googleapis.com/ComplexRequest", "type.googleapis.com/", "/"] {
            #expect(!interface.typeURL(refused, names: input), "\(refused)")
        }
    }

    @Test func evictedModulesAreLoadedAgain() async throws {
        let echo = descriptorSet(package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])
        try await withServer(configure: { $0.runtime.loadedModules = 1 }) { client in
            let complex = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            let echoID = try #require(ModuleID(hex: try await client.add(wasm: echoWasm, descriptorSet: echo).metadata.id))
            for round in 0..<3 {
                let (real, _) = try complexResult(
                    try await client.invoke(complex, function: "mul", parameters: try complexRequest((Float(round), 0), (1, 0))))
                #expect(real == Float(round))
                let text = try await client.invoke(
                    echoID, function: "echo",
                    parameters: .with { $0.value = try Google_Protobuf_StringValue("r\(round)").serializedBytes() })
                #expect(try Google_Protobuf_StringValue(serializedBytes: text.value).value == "r\(round)")
            }
        }
    }
}
