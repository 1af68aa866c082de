import ContentStore
import Foundation
import GRPCCore
import WasmRPCProto
import DynamicProto
import ModuleRuntime
import SwiftProtobuf
import Testing
import CallCore
@testable import GRPCFrontDoor
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

/// Direct calls read `InvokeRequest`s and write `InvokeResponse`s without swift-protobuf's message
/// machinery on the common path (`InvokeWire`); swift-protobuf is the oracle.
@Suite struct InvokeWireTests {
    static let id = String(repeating: "ab", count: 32)

    /// The fields an InvokeRequest's bytes ask for, or the error, through `InvokeWire` and through swift-protobuf.
    static func both(_ bytes: [UInt8]) -> (wire: String, oracle: String) {
        func describe(_ call: () throws -> (target: CallTarget, typeURL: String, input: [UInt8])) -> String {
            do {
                let call = try call()
                return "\(call.target.module) \(call.target.function) \(call.typeURL) \(call.input)"
            } catch let error as CallError {
                return "\(error.status)"
            } catch {
                return "\(error)"
            }
        }
        return (
            describe { try InvokeWire.call(bytes) },
            describe {
                let request: Wasmrpc_V1_InvokeRequest
                do {
                    request = try Wasmrpc_V1_InvokeRequest(serializedBytes: bytes)
                } catch {
                    throw CallError(.invalidArgument, "")
                }
                let call = try InvokerService.call(request)
                return (call.0, call.typeURL, call.input)
            })
    }

    @Test func requestsReadAsSwiftProtobufReadsThem() throws {
        let common = try Wasmrpc_V1_InvokeRequest.with {
            $0.metadata.id = Self.id
            $0.request.name = "mul"
            $0.request.parameters.typeURL = "type.googleapis.com/complex.ComplexRequest"
            $0.request.parameters.value = Data([1, 2, 3])
        }.serializedBytes() as [UInt8]
        var cases: [[UInt8]] = [common, [], Array(common.prefix(10))]
        // Fields repeated (protobuf merges them), unknown fields, other wire types, other metadata.
        cases.append(common + common)
        cases.append(common + [0x18, 0x05])
        cases.append(common + [0x2A, 0x00])
        cases.append(try Wasmrpc_V1_InvokeRequest.with { $0.metadata.id = Self.id; $0.metadata.name = "x"; $0.request.name = "mul" }.serializedBytes())
        cases.append(try Wasmrpc_V1_InvokeRequest.with { $0.metadata.id = "not an id"; $0.request.name = "mul" }.serializedBytes())
        cases.append(try Wasmrpc_V1_InvokeRequest.with { $0.metadata.id = Self.id }.serializedBytes())
        // Invalid UTF-8 in a string, and a length running past the end.
        cases.append([0x0A, 0x03, 0x0A, 0x01, 0xFF])
        cases.append([0x0A, 0x05, 0x0A, 0x01])
        // Every prefix and every one-byte change of the common request.
        for end in 0..<common.count { cases.append(Array(common.prefix(end))) }
        for index in common.indices {
            for value: UInt8 in [0x00, 0x02, 0x7F, 0x80, 0xFF] {
                var changed = common
                changed[index] = value
                cases.append(changed)
            }
        }
        for bytes in cases {
            let (wire, oracle) = Self.both(bytes)
            #expect(wire == oracle, "\(bytes)")
        }
    }

    @Test func responsesAreWhatSwiftProtobufWrites() throws {
        for (typeURL, output) in [("type.googleapis.com/complex.ComplexResponse", [UInt8](repeating: 7, count: 300)), ("", []), ("t", []), ("", [0])] {
            let expected: [UInt8] = try Wasmrpc_V1_InvokeResponse.with {
                $0.response.result.typeURL = typeURL
                $0.response.result.value = Data(output)
            }.serializedBytes()
            #expect(InvokeWire.response(typeURL: typeURL, output: output) == expected, "\(typeURL) \(output.count)")
        }
    }
}
