import Foundation
import SwiftProtobuf
import Testing
import WasmRPCProto

@testable import ModuleRuntime

/// The state capability reads a guest's GetRequest and writes its GetResponse without
/// swift-protobuf; both must agree with swift-protobuf's encoding, and any request shape the short
/// reader does not know goes to the full decoder.
@Suite struct StateCodecTests {
    static let lengths = [0, 1, 2, 126, 127, 128, 129, 300, 16_383, 16_384, 20_000]

    @Test(arguments: lengths) func getResponsesAreEncodedAsSwiftProtobufEncodesThem(length: Int) throws {
        let value = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var response = Wasmrpc_Guest_V1_GetResponse()
        response.found = true
        response.value = Data(value)
        #expect(StateCapability.encodeGetResponse(value) == (try response.serializedBytes()))
        #expect(StateCapability.encodeGetResponse(nil) == (try Wasmrpc_Guest_V1_GetResponse().serializedBytes()))
    }

    @Test(arguments: lengths.filter { $0 > 0 }) func aPlainGetRequestsKeyIsReadAsSwiftProtobufReadsIt(length: Int) throws {
        let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        var request = Wasmrpc_Guest_V1_GetRequest()
        request.key = Data(key)
        #expect(StateCapability.onlyKey(of: try request.serializedBytes()) == key)
    }

    @Test func otherShapesAreLeftToTheFullDecoder() throws {
        var request = Wasmrpc_Guest_V1_GetRequest()
        request.key = Data("counter/a".utf8)
        let plain: [UInt8] = try request.serializedBytes()
        let shapes: [String: [UInt8]] = [
            "empty": [],
            "an unknown field after the key": plain + [0x10, 0x01],
            "an unknown field before the key": [0x10, 0x01] + plain,
            "the key twice": plain + plain,
            "a length past the end": [0x0A, 0x05, 0x61],
            "a length short of the end": [0x0A, 0x01, 0x61, 0x62],
            "a varint length that does not end": [0x0A, 0x80, 0x80, 0x80, 0x80],
            "another wire type": [0x08, 0x01],
        ]
        for (name, payload) in shapes {
            #expect(StateCapability.onlyKey(of: payload) == nil, "\(name)")
        }
    }
}
