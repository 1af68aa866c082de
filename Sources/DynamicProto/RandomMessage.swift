import WasmRPCCore
/// Limits for `DynamicMessage.random`.
public struct RandomMessageOptions: Sendable {
    /// Message fields below this depth are left unset, so recursive types end.
    public var maxDepth = 3
    /// Elements per repeated field and entries per map (0…this many).
    public var maxCount = 3
    /// Length of random strings (in characters) and bytes.
    public var maxLength = 12

    public init() {}
}

/// SplitMix64: small, fast and seedable, so `--seed N` reproduces a message on any machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension DynamicMessage {
    /// A message of `type` with every field set to a random value: each oneof gets one random
    /// member, repeated fields and maps get 0…`maxCount` elements, and message fields deeper than
    /// `maxDepth` stay unset. The same generator state gives the same message.
    public static func random(
        type: MessageID, pool: DescriptorPool, options: RandomMessageOptions = RandomMessageOptions(),
        using generator: inout some RandomNumberGenerator
    ) -> DynamicMessage {
        random(type: type, pool: pool, options: options, depth: 0, using: &generator)
    }

    private static func random(
        type: MessageID, pool: DescriptorPool, options: RandomMessageOptions, depth: Int, using generator: inout some RandomNumberGenerator
    ) -> DynamicMessage {
        var message = DynamicMessage(type: type, pool: pool)
        let descriptor = message.descriptor
        if let special = randomWellKnown(message, options: options, depth: depth, using: &generator) { return special }
        let chosen = descriptor.oneofs.indices.map { oneof in
            descriptor.fields.indices.filter { descriptor.fields[$0].oneofIndex == oneof }.randomElement(using: &generator)
        }
        for (index, field) in descriptor.fields.enumerated() {
            if let oneof = field.oneofIndex, chosen[oneof] != index { continue }
            if depth >= options.maxDepth, pool.holdsMessages(field) { continue }
            func value(_ kind: FieldKind) -> DynamicValue {
                randomValue(kind, pool: pool, options: options, depth: depth, using: &generator)
            }
            let count = Int.random(in: 0...options.maxCount, using: &generator)
            if let entry = field.mapEntry {
                let (keyField, valueField) = pool.mapFields(entry)
                var map: [DynamicValue: DynamicValue] = [:]
                for _ in 0..<count { map[value(keyField.kind)] = value(valueField.kind) }
                message.values[index] = .map(map)
            } else if field.isRepeated {
                message.values[index] = .repeated((0..<count).map { _ in value(field.kind) })
            } else {
                message.values[index] = .single(value(field.kind))
            }
        }
        return message
    }

    /// Well-known types whose JSON forms restrict their values: timestamps and durations within
    /// range, Values that always have a kind and finite numbers, field-mask paths that survive the
    /// lowerCamelCase round trip, and Anys that hold a message of the pool.
    private static func randomWellKnown(
        _ empty: DynamicMessage, options: RandomMessageOptions, depth: Int, using generator: inout some RandomNumberGenerator
    ) -> DynamicMessage? {
        var message = empty
        let pool = message.pool
        func nested(_ name: String) -> DynamicMessage? {
            pool.message(named: name).map { random(type: $0, pool: pool, options: options, depth: depth + 1, using: &generator) }
        }
        func word() -> String {
            String((0..<Int.random(in: 1...6, using: &generator)).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement(using: &generator) ?? "a" })
        }
        switch message.descriptor.fullName {
        case "google.protobuf.Timestamp":
            message.values[0] = .single(.int64(Int64.random(in: TimestampText.minSeconds...TimestampText.maxSeconds, using: &generator)))
            message.values[1] = .single(.int32(Int32.random(in: 0..<1_000_000_000, using: &generator)))
        case "google.protobuf.Duration":
            let seconds = Int64.random(in: -DurationText.maxSeconds...DurationText.maxSeconds, using: &generator)
            let nanos = Int32.random(in: 0..<1_000_000_000, using: &generator)
            message.values[0] = .single(.int64(seconds))
            message.values[1] = .single(.int32(seconds < 0 ? -nanos : nanos))
        case "google.protobuf.FieldMask":
            let paths = (0..<Int.random(in: 0...options.maxCount, using: &generator)).map { _ in
                (0..<Int.random(in: 1...2, using: &generator)).map { _ in
                    (0..<Int.random(in: 1...3, using: &generator)).map { _ in word() }.joined(separator: "_")
                }.joined(separator: ".")
            }
            message.values[0] = .repeated(paths.map(DynamicValue.string))
        case "google.protobuf.Value":
            let kinds = depth + 1 < options.maxDepth ? 6 : 4
            let kind = Int.random(in: 0..<kinds, using: &generator)
            let value: DynamicValue
            switch kind {
            case 0: value = .enumeration(0)
            case 1: value = .double(Double.random(in: -1e6...1e6, using: &generator))
            case 2: value = .string(word())
            case 3: value = .bool(Bool.random(using: &generator))
            case 4: value = nested("google.protobuf.Struct").map(DynamicValue.message) ?? .bool(true)
            default: value = nested("google.protobuf.ListValue").map(DynamicValue.message) ?? .bool(false)
            }
            guard let index = message.descriptor.fieldIndex(number: Int32(kind + 1)) else { return nil }
            message.values[index] = .single(value)
        case "google.protobuf.Struct":
            var fields: [DynamicValue: DynamicValue] = [:]
            for _ in 0..<Int.random(in: 0...options.maxCount, using: &generator) {
                if let value = nested("google.protobuf.Value") { fields[.string(word())] = .message(value) }
            }
            message.values[0] = .map(fields)
        case "google.protobuf.ListValue":
            let values = (0..<Int.random(in: 0...options.maxCount, using: &generator)).compactMap { _ in nested("google.protobuf.Value") }
            message.values[0] = .repeated(values.map(DynamicValue.message))
        case "google.protobuf.Any":
            let candidates = pool.messages.indices.filter {
                !pool.messages[$0].fullName.hasPrefix("google.protobuf.") && !pool.messages[$0].isMapEntry
            }
            guard depth + 1 < options.maxDepth, let chosen = candidates.randomElement(using: &generator) else { return message }
            let packed = random(type: MessageID(index: chosen), pool: pool, options: options, depth: depth + 1, using: &generator)
            message.values[0] = .single(.string(Wire.typeURLPrefix + pool.messages[chosen].fullName))
            message.values[1] = .single(.bytes(packed.serializedBytes()))
        default:
            return nil
        }
        return message
    }

    private static func randomValue(
        _ kind: FieldKind, pool: DescriptorPool, options: RandomMessageOptions, depth: Int, using generator: inout some RandomNumberGenerator
    ) -> DynamicValue {
        // Vary the magnitude so that every varint length occurs.
        func bits(_ width: Int) -> UInt64 {
            let used = Int.random(in: 0...width, using: &generator)
            return used == 0 ? 0 : generator.next() >> UInt64(64 - used)
        }
        func signed(_ width: Int) -> Int64 {
            let magnitude = Int64(bitPattern: bits(width - 1))
            return Bool.random(using: &generator) ? magnitude : ~magnitude
        }
        func floating() -> Double {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: return [0.0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude].randomElement(using: &generator) ?? 0
            case 1: return Double(Int.random(in: -1000...1000, using: &generator))
            default: return Double.random(in: -1e6...1e6, using: &generator)
            }
        }
        switch kind {
        case .int32, .sint32, .sfixed32: return .int32(Int32(truncatingIfNeeded: signed(32)))
        case .int64, .sint64, .sfixed64: return .int64(signed(64))
        case .uint32, .fixed32: return .uint32(UInt32(truncatingIfNeeded: bits(32)))
        case .uint64, .fixed64: return .uint64(bits(64))
        case .float: return .float(Float(floating()))
        case .double: return .double(floating())
        case .bool: return .bool(Bool.random(using: &generator))
        case .string:
            let length = Int.random(in: 0...options.maxLength, using: &generator)
            let alphabet: [Unicode.Scalar] = ["a", "b", "z", "A", "0", " ", "_", "é", "ß", "中", "😀", "\n", "\"", "\\"]
            return .string(String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "a" })))
        case .bytes:
            return .bytes((0..<Int.random(in: 0...options.maxLength, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        case .enumeration(let id):
            let values = pool.enums[id.index].values
            return .enumeration(values.randomElement(using: &generator)?.number ?? 0)
        case .message(let type), .group(let type):
            return .message(random(type: type, pool: pool, options: options, depth: depth + 1, using: &generator))
        }
    }
}

extension DescriptorPool {
    /// Whether a field's values are or contain messages (message, group, map with message values).
    func holdsMessages(_ field: FieldDescriptor) -> Bool {
        if let entry = field.mapEntry { return holdsMessages(mapFields(entry).value) }
        switch field.kind {
        case .message, .group: return true
        default: return false
        }
    }
}
