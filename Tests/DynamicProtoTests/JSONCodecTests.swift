import Foundation
import GeneratedTestProtos
import SwiftProtobuf
import Testing
@testable import DynamicProto

/// The dynamic JSON codec against swift-protobuf's generated code.
@Suite(.timeLimit(.minutes(10))) struct JSONCodecTests {
    /// Semantic JSON equality: both texts parsed by Foundation and compared as values.
    func sameJSON(_ a: String, _ b: String) throws -> Bool {
        let left = try JSONSerialization.jsonObject(with: Data(a.utf8), options: [.fragmentsAllowed]) as? NSObject
        let right = try JSONSerialization.jsonObject(with: Data(b.utf8), options: [.fragmentsAllowed]) as? NSObject
        return left != nil && left == right
    }

    /// random → generated → generated JSON → dynamic → (bytes equal generated's, JSON equal generated's).
    func roundTrip<Generated: SwiftProtobuf.Message>(_: Generated.Type, _ name: String, seed: UInt64) throws {
        TestPool.registerAnyTypes
        var random = SeededRandom(seed: seed)
        let type = TestPool.type(name)
        let generated = try Generated(serializedBytes: DynamicMessage.random(type: type, pool: TestPool.pool, using: &random).serializedBytes())
        let json = try generated.jsonString()
        let dynamic = try DynamicMessage(jsonString: json, type: type, pool: TestPool.pool)
        #expect(dynamic.serializedBytes() == (try generated.serializedBytes(options: TestPool.deterministic)), "seed \(seed)")
        let ours = try dynamic.jsonString()
        #expect(try sameJSON(ours, json), "seed \(seed)\nours:      \(ours)\ngenerated: \(json)")
        // And generated code reads our JSON back to the same content. (Compared as JSON: an Any
        // that generated code re-packs may order a packed map differently in its bytes.)
        #expect(try sameJSON(try Generated(jsonString: ours).jsonString(), json), "seed \(seed)")
    }

    @Test(arguments: UInt64(1)...200)
    func proto3JSONMatchesGeneratedCode(seed: UInt64) throws {
        try roundTrip(Dyn_Test3_Everything.self, "dyn.test3.Everything", seed: seed)
    }

    @Test(arguments: UInt64(1)...60)
    func proto2JSONMatchesGeneratedCode(seed: UInt64) throws {
        try roundTrip(Dyn_Test2_Legacy.self, "dyn.test2.Legacy", seed: seed)
    }

    @Test func originalNamesAndStringNumbersAreAccepted() throws {
        let json = #"{"f_int32": "12", "fInt64": 34, "f_double": "NaN", "f_float": 1e2, "f_color": 2, "r_int32": [1, "2"]}"#
        let message = try DynamicMessage(jsonString: json, type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
        #expect(message.value(forField: "f_int32") == .single(.int32(12)))
        #expect(message.value(forField: "f_int64") == .single(.int64(34)))
        #expect(message.value(forField: "f_float") == .single(.float(100)))
        #expect(message.value(forField: "f_color") == .single(.enumeration(2)))
        #expect(message.value(forField: "r_int32") == .repeated([.int32(1), .int32(2)]))
        guard case .single(.double(let nan))? = message.value(forField: "f_double") else { Issue.record("f_double"); return }
        #expect(nan.isNaN)
    }

    @Test func wellKnownTypesUseTheirJSONForms() throws {
        var message = Dyn_Test3_Everything()
        message.tTimestamp = Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 5_000_000)
        message.wInt64 = Google_Protobuf_Int64Value(-7)
        let dynamic = try DynamicMessage(
            serializedBytes: try message.serializedBytes(), type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
        let json = try dynamic.jsonString()
        #expect(json == #"{"tTimestamp":"2023-11-14T22:13:20.005Z","wInt64":"-7"}"#)
        let back = try DynamicMessage(jsonString: json, type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
        #expect(back.serializedBytes() == (try message.serializedBytes()))
    }

    @Test func anyHoldingAWellKnownTypeUsesValue() throws {
        TestPool.registerAnyTypes
        var message = Dyn_Test3_Everything()
        message.kAny = try Google_Protobuf_Any(message: Google_Protobuf_Duration(seconds: -1, nanos: -500_000_000))
        message.kValue = Google_Protobuf_Value(nilLiteral: ())
        message.kMask = Google_Protobuf_FieldMask(protoPaths: ["a_b.c_d", "x"])
        let type = TestPool.type("dyn.test3.Everything")
        let dynamic = try DynamicMessage(serializedBytes: try message.serializedBytes(), type: type, pool: TestPool.pool)
        let json = try dynamic.jsonString()
        #expect(
            json == #"{"kAny":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"-1.500s"},"kValue":null,"kMask":"aB.cD,x"}"#)
        #expect(try sameJSON(json, try message.jsonString()))
        let back = try DynamicMessage(jsonString: json, type: type, pool: TestPool.pool)
        #expect(back.serializedBytes() == (try message.serializedBytes()))
    }

    @Test func outOfRangeWellKnownValuesAreErrorsNotCrashes() throws {
        let type = TestPool.type("dyn.test3.Everything")
        for (field, seconds, nanos) in [(Int64(86), Int64.min, Int32.min), (86, 0, Int32.min), (81, Int64.max, 0), (81, 0, -1)] {
            var message = Dyn_Test3_Everything()
            if field == 86 {
                message.kDuration = Google_Protobuf_Duration(seconds: seconds, nanos: nanos)
            } else {
                message.tTimestamp = Google_Protobuf_Timestamp(seconds: seconds, nanos: nanos)
            }
            let dynamic = try DynamicMessage(serializedBytes: try message.serializedBytes(), type: type, pool: TestPool.pool)
            #expect(throws: DynamicProtoError.self) { try dynamic.jsonString() }
        }
    }

    /// Mutated JSON texts: each must parse or throw, never crash or hang.
    @Test func thousandsOfMutatedJSONTexts() throws {
        TestPool.registerAnyTypes
        let type = TestPool.type("dyn.test3.Everything")
        var random = SeededRandom(seed: 99)
        var accepted = 0
        for _ in 0..<2_000 {
            var text = Array(try DynamicMessage.random(type: type, pool: TestPool.pool, using: &random).jsonString().utf8)
            for _ in 0..<Int.random(in: 1...3, using: &random) where !text.isEmpty {
                let at = Int.random(in: 0..<text.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: text[at] = Array(#"{}[]",:0"a\ "#.utf8).randomElement(using: &random) ?? 0x20
                case 1: text.remove(at: at)
                default: text.insert(UInt8.random(in: 0x20...0x7E, using: &random), at: at)
                }
            }
            if (try? DynamicMessage(jsonString: String(decoding: text, as: UTF8.self), type: type, pool: TestPool.pool)) != nil {
                accepted += 1
            }
        }
        #expect(accepted < 2_000)
    }

    @Test func badJSONSaysWhichFieldIsWrong() {
        func error(_ json: String) -> DynamicProtoError? {
            do {
                _ = try DynamicMessage(jsonString: json, type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
                return nil
            } catch {
                return error
            }
        }
        #expect(error(#"{"fInt32": "twelve"}"#)?.message.contains("dyn.test3.Everything.f_int32") == true)
        #expect(error(#"{"fInt32": 3000000000}"#)?.code == .invalidJSON)
        #expect(error(#"{"fColor": "PURPLE"}"#)?.message.contains("PURPLE") == true)
        #expect(error(#"{"noSuchField": 1}"#)?.message.contains("noSuchField") == true)
        #expect(error(#"{"oString": "a", "oInt64": "1"}"#)?.message.contains("oneof") == true)
        #expect(error(#"{"fBytes": "not base64!"}"#)?.code == .invalidJSON)
        #expect(error(#"{"tTimestamp": "yesterday"}"#)?.code == .invalidJSON)
        #expect(error(#"{"fInt32": 1,}"#)?.code == .invalidJSON)
        #expect(error(#"{"fInt32": 1, "fInt32": 2}"#)?.code == .invalidJSON)
        #expect(error(String(repeating: "[", count: 500))?.code == .tooDeep)
    }

    @Test func unknownFieldsCanBeIgnored() throws {
        var options = JSONReadOptions()
        options.ignoreUnknownFields = true
        let message = try DynamicMessage(
            jsonString: #"{"whatever": {"a": [1]}, "fInt32": 5}"#, type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool,
            options: options)
        #expect(message.value(forField: "f_int32") == .single(.int32(5)))
    }
}
