import GeneratedTestProtos
import SwiftProtobuf
import Testing
@testable import DynamicProto

/// The dynamic binary codec against swift-protobuf's generated code for the same .proto files.
@Suite(.timeLimit(.minutes(10))) struct BinaryCodecTests {
    static let seeds = Array(UInt64(1)...300)

    /// random dynamic → bytes → generated type → canonical bytes → dynamic → bytes: both codecs
    /// must agree byte for byte, and the content that comes back is the content that went in.
    func roundTrip<Generated: SwiftProtobuf.Message>(_ generated: Generated.Type, _ name: String, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let type = TestPool.type(name)
        let original = DynamicMessage.random(type: type, pool: TestPool.pool, using: &random)
        let message = try Generated(serializedBytes: original.serializedBytes())
        let canonical: [UInt8] = try message.serializedBytes(partial: true, options: TestPool.deterministic)
        let decoded = try DynamicMessage(serializedBytes: canonical, type: type, pool: TestPool.pool)
        #expect(decoded.serializedBytes() == canonical, "seed \(seed)")
        #expect(sameContent(decoded, original), "seed \(seed)")
        #expect(decoded.unknownFields.isEmpty, "seed \(seed)")
    }

    @Test(arguments: seeds)
    func proto3RoundTripsLikeGeneratedCode(seed: UInt64) throws {
        try roundTrip(Dyn_Test3_Everything.self, "dyn.test3.Everything", seed: seed)
    }

    @Test(arguments: seeds.prefix(100))
    func proto2RoundTripsLikeGeneratedCode(seed: UInt64) throws {
        try roundTrip(Dyn_Test2_Legacy.self, "dyn.test2.Legacy", seed: seed)
    }

    @Test(arguments: seeds.prefix(50))
    func recursiveTypeRoundTrips(seed: UInt64) throws {
        try roundTrip(Dyn_Test3_Tree.self, "dyn.test3.Tree", seed: seed)
    }

    @Test func theSameSeedGivesTheSameBytes() {
        let type = TestPool.type("dyn.test3.Everything")
        var first = SeededRandom(seed: 42)
        var second = SeededRandom(seed: 42)
        var other = SeededRandom(seed: 43)
        let bytes = DynamicMessage.random(type: type, pool: TestPool.pool, using: &first).serializedBytes()
        #expect(DynamicMessage.random(type: type, pool: TestPool.pool, using: &second).serializedBytes() == bytes)
        #expect(DynamicMessage.random(type: type, pool: TestPool.pool, using: &other).serializedBytes() != bytes)
    }

    @Test func fieldValuesMatchTheGeneratedAccessors() throws {
        var message = Dyn_Test3_Everything()
        message.fInt32 = -5
        message.fSint64 = -1234567890123
        message.fString = "héllo"
        message.fColor = .blue
        message.rInt32 = [1, -2, 300]
        message.mInt32String = [7: "seven", -1: "minus"]
        message.oNested.a = 9
        message.pInt32 = 0  // proto3 optional: present although zero
        let bytes: [UInt8] = try message.serializedBytes(options: TestPool.deterministic)
        let decoded = try DynamicMessage(serializedBytes: bytes, type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
        #expect(decoded.value(forField: "f_int32") == .single(.int32(-5)))
        #expect(decoded.value(forField: "fSint64") == .single(.int64(-1_234_567_890_123)))
        #expect(decoded.value(forField: "f_string") == .single(.string("héllo")))
        #expect(decoded.value(forField: "f_color") == .single(.enumeration(-3)))
        #expect(decoded.value(forField: "r_int32") == .repeated([.int32(1), .int32(-2), .int32(300)]))
        #expect(decoded.value(forField: "m_int32_string") == .map([.int32(7): .string("seven"), .int32(-1): .string("minus")]))
        #expect(decoded.value(forField: "p_int32") == .single(.int32(0)))
        guard case .single(.message(let nested))? = decoded.value(forField: "o_nested") else {
            Issue.record("o_nested missing")
            return
        }
        #expect(nested.value(forField: "a") == .single(.int32(9)))
        #expect(decoded.serializedBytes() == bytes)
    }

    @Test func settingAOneofMemberClearsTheOthers() throws {
        var message = DynamicMessage(type: TestPool.type("dyn.test3.Everything"), pool: TestPool.pool)
        try message.set(.single(.string("a")), forField: "o_string")
        try message.set(.single(.int64(5)), forField: "o_int64")
        #expect(message.value(forField: "o_string") == nil)
        #expect(message.value(forField: "o_int64") == .single(.int64(5)))
        #expect(throws: DynamicProtoError.self) { try message.set(.single(.string("x")), forField: "f_int32") }
        #expect(throws: DynamicProtoError.self) { try message.set(.single(.int32(1)), forField: "no_such_field") }
    }

    @Test func unknownFieldsArePreserved() throws {
        // Field 999 (varint 5) and field 1000 (bytes "ab") are not in Point.
        let point: [UInt8] = [0x08, 0x04] + [0xB8, 0x3E, 0x05] + [0xC2, 0x3E, 0x02, 0x61, 0x62]
        let decoded = try DynamicMessage(serializedBytes: point, type: TestPool.type("dyn.common.Point"), pool: TestPool.pool)
        #expect(decoded.value(forField: "x") == .single(.int32(2)))
        #expect(decoded.unknownFields == [0xB8, 0x3E, 0x05, 0xC2, 0x3E, 0x02, 0x61, 0x62])
        #expect(decoded.serializedBytes() == point)
    }

    @Test func unknownValuesOfClosedEnumsBecomeUnknownFields() throws {
        var legacy = Dyn_Test2_Legacy()
        legacy.oInt32 = 1
        var bytes: [UInt8] = try legacy.serializedBytes()
        bytes += [0x30, 0x63]  // o_kind = 99, not a Kind
        let decoded = try DynamicMessage(serializedBytes: bytes, type: TestPool.type("dyn.test2.Legacy"), pool: TestPool.pool)
        #expect(decoded.value(forField: "o_kind") == nil)
        #expect(decoded.unknownFields == [0x30, 0x63])
        let generated = try Dyn_Test2_Legacy(serializedBytes: bytes)
        #expect(decoded.serializedBytes() == (try generated.serializedBytes(options: TestPool.deterministic)))
    }
}
