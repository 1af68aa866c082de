import Testing
@testable import DynamicProto

/// Hostile bytes must end in a `DynamicProtoError`, never a crash or a hang.
@Suite(.timeLimit(.minutes(10))) struct MalformedInputTests {
    static let everything = TestPool.type("dyn.test3.Everything")

    func decode(_ bytes: [UInt8], as type: MessageID = everything) -> DynamicProtoError? {
        do {
            _ = try DynamicMessage(serializedBytes: bytes, type: type, pool: TestPool.pool)
            return nil
        } catch {
            return error
        }
    }

    @Test func truncatedVarint() {
        #expect(decode([0x08, 0xFF, 0xFF])?.code == .truncated)
        #expect(decode([0x80])?.code == .truncated)  // a tag that never ends
    }

    @Test func overlongVarint() {
        #expect(decode([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01])?.code == .malformed)
    }

    @Test func wrongWireTypeNamesTheField() {
        let error = decode([0x0D, 0, 0, 0, 0])  // f_int32 (field 1) as fixed32
        #expect(error?.code == .wrongWireType)
        #expect(error?.message.contains("dyn.test3.Everything.f_int32") == true)
    }

    @Test func lengthPastTheEnd() {
        #expect(decode([0x72, 0x05, 0x61])?.code == .truncated)  // f_string claims 5 bytes, has 1
        #expect(decode([0x8A, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])?.code == .truncated)  // f_nested, 4 GiB
    }

    @Test func invalidUTF8() {
        let error = decode([0x72, 0x02, 0xC3, 0x28])
        #expect(error?.code == .invalidUTF8)
        #expect(error?.message.contains("f_string") == true)
    }

    @Test func fieldNumberZeroAndBadWireTypes() {
        #expect(decode([0x00, 0x00])?.code == .malformed)
        #expect(decode([0x0E])?.code == .malformed)  // wire type 6
        #expect(decode([0x0C])?.code == .malformed)  // end-group without start
        #expect(decode([0xFB, 0xFF, 0xFF, 0x0F])?.code == .truncated)  // unknown group, no end
    }

    @Test func nestingPastTheLimit() {
        // Tree.parent (field 3) nested 200 deep.
        var bytes: [UInt8] = []
        for _ in 0..<200 {
            var outer: [UInt8] = [0x1A]
            var length = bytes.count
            repeat {
                outer.append(UInt8(length & 0x7F) | (length > 0x7F ? 0x80 : 0))
                length >>= 7
            } while length > 0
            bytes = outer + bytes
        }
        #expect(decode(bytes, as: TestPool.type("dyn.test3.Tree"))?.code == .tooDeep)
        // Unknown groups nested past the limit are refused too.
        let groups = (0..<300).flatMap { _ -> [UInt8] in [0xFB, 0xFF, 0xFF, 0x0F] }
        #expect(decode(groups)?.code == .tooDeep)
    }

    @Test func tenMegabytesOfGarbage() {
        var random = SeededRandom(seed: 7)
        let garbage = (0..<(10 << 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        #expect(decode(garbage) != nil)
    }

    /// Mutations of valid messages: flipped bytes, cuts, insertions. Each must decode or throw;
    /// what decodes must re-encode and decode again to the same bytes.
    @Test func thousandsOfMutatedMessages() throws {
        var random = SeededRandom(seed: 2024)
        var failures = 0
        for round in 0..<3_000 {
            let valid = DynamicMessage.random(type: Self.everything, pool: TestPool.pool, using: &random).serializedBytes()
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] ^= UInt8.random(in: 1...255, using: &random)
                case 1: bytes.removeSubrange(at...)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
                }
            }
            guard let decoded = try? DynamicMessage(serializedBytes: bytes, type: Self.everything, pool: TestPool.pool) else {
                failures += 1
                continue
            }
            let again = try DynamicMessage(serializedBytes: decoded.serializedBytes(), type: Self.everything, pool: TestPool.pool)
            #expect(again.serializedBytes() == decoded.serializedBytes(), "round \(round)")
        }
        #expect(failures > 0 && failures < 3_000)  // the corpus exercises both outcomes
    }
}

/// `DynamicMessage.isValid` checks without decoding; it must say yes exactly when decoding succeeds.
@Suite(.timeLimit(.minutes(10))) struct ValidationTests {
    static func agree(_ bytes: [UInt8], _ type: MessageID) -> Bool {
        let decodes = (try? DynamicMessage(serializedBytes: bytes, type: type, pool: TestPool.pool)) != nil
        return DynamicMessage.isValid(serializedBytes: bytes, type: type, pool: TestPool.pool) == decodes
    }

    /// Random messages of every test type, then each of them cut short, with a byte changed, with
    /// two bytes swapped, and nested deeper than the limit allows.
    @Test(arguments: Array(UInt64(1)...60))
    func theCheckAgreesWithTheDecoder(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for name in ["dyn.test3.Everything", "dyn.test2.Legacy", "dyn.test3.Tree"] {
            let type = TestPool.type(name)
            let bytes = DynamicMessage.random(type: type, pool: TestPool.pool, using: &random).serializedBytes()
            #expect(Self.agree(bytes, type), "\(name) seed \(seed)")
            guard !bytes.isEmpty else { continue }
            for _ in 0..<40 {
                var changed = bytes
                switch random.next() % 4 {
                case 0: changed = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
                case 1: changed[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                case 2: changed.swapAt(Int(random.next() % UInt64(bytes.count)), Int(random.next() % UInt64(bytes.count)))
                default: changed.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count)))
                }
                #expect(Self.agree(changed, type), "\(name) seed \(seed): \(changed)")
            }
        }
    }

    @Test func theLimitsAndEdgesAgree() {
        let everything = TestPool.type("dyn.test3.Everything")
        let tree = TestPool.type("dyn.test3.Tree")
        let cases: [[UInt8]] = [
            [], [0x08, 0xFF, 0xFF], [0x80], [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01], [0x0D, 0, 0, 0, 0],
            [0x72, 0x05, 0x61], [0x72, 0x02, 0xC3, 0x28], [0x8A, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x0B], [0x0C],
            [0xF8, 0xFF, 0xFF, 0xFF, 0x0F, 0x01],
        ]
        for bytes in cases {
            #expect(Self.agree(bytes, everything), "\(bytes)")
            #expect(Self.agree(bytes, tree), "\(bytes)")
        }
        // Trees nested at the limit and one deeper.
        for depth in [DynamicMessage.defaultDepthLimit - 1, DynamicMessage.defaultDepthLimit, DynamicMessage.defaultDepthLimit + 1] {
            var bytes: [UInt8] = []
            for _ in 0..<depth { bytes = [0x12] + varint(bytes.count) + bytes }
            #expect(Self.agree(bytes, tree), "depth \(depth)")
        }
    }

    func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return out + [UInt8(value)]
    }
}
