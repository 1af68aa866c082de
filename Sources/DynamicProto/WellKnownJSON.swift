/// The special proto3 JSON forms of the well-known types (by full name), both directions.
enum WellKnownJSON {
    private static let wrappers: Set<String> = [
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
    ]

    /// The JSON text of `message` if its type has a special form, else nil.
    static func write(_ message: DynamicMessage) throws(DynamicProtoError) -> String? {
        let name = message.descriptor.fullName
        guard name.hasPrefix("google.protobuf.") else { return nil }
        let pool = message.pool
        func field(_ number: Int32) -> DynamicValue? {
            guard let field = message.descriptor.field(number: number) else { return nil }
            return message.value(forField: number)?.single ?? pool.defaultValue(of: field)
        }
        var writer = JSONWriter()
        switch name {
        case "google.protobuf.Timestamp":
            guard case .int64(let seconds)? = field(1), case .int32(let nanos)? = field(2),
                let text = TimestampText.format(seconds: seconds, nanos: nanos)
            else { throw DynamicProtoError(.invalidValue, "google.protobuf.Timestamp is out of range") }
            writer.string(text)
        case "google.protobuf.Duration":
            guard case .int64(let seconds)? = field(1), case .int32(let nanos)? = field(2),
                let text = DurationText.format(seconds: seconds, nanos: nanos)
            else { throw DynamicProtoError(.invalidValue, "google.protobuf.Duration is out of range") }
            writer.string(text)
        case _ where wrappers.contains(name):
            guard let valueField = message.descriptor.field(number: 1), let value = field(1) else { return nil }
            try pool.writeJSON(value, kind: valueField.kind, into: &writer)
        case "google.protobuf.FieldMask":
            guard case .repeated(let paths)? = message.value(forField: 1) ?? .repeated([]) else { return nil }
            let camel = paths.compactMap { path -> String? in
                if case .string(let text) = path { return PoolNaming.jsonName(text) }
                return nil
            }
            writer.string(camel.joined(separator: ","))
        case "google.protobuf.Struct":
            // The `fields` map<string, Value> is the object itself.
            guard let fields = message.descriptor.field(number: 1), let entry = fields.mapEntry else { return nil }
            let valueKind = pool.mapFields(entry).value.kind
            var map: [DynamicValue: DynamicValue] = [:]
            if case .map(let entries)? = message.value(forField: 1) { map = entries }
            writer.text.append("{")
            for (position, key) in map.keys.sorted(by: DynamicValue.mapKeyOrder).enumerated() {
                if position > 0 { writer.text.append(",") }
                writer.string(key.mapKeyText)
                writer.text.append(":")
                if let value = map[key] { try pool.writeJSON(value, kind: valueKind, into: &writer) }
            }
            writer.text.append("}")
        case "google.protobuf.ListValue":
            guard let values = message.descriptor.field(number: 1) else { return nil }
            let list: [DynamicValue]
            if case .repeated(let elements)? = message.value(forField: 1) { list = elements } else { list = [] }
            writer.text.append("[")
            for (index, element) in list.enumerated() {
                if index > 0 { writer.text.append(",") }
                try pool.writeJSON(element, kind: values.kind, into: &writer)
            }
            writer.text.append("]")
        case "google.protobuf.Value":
            for field in message.descriptor.fields {
                guard let value = message.value(forField: field.number)?.single else { continue }
                try pool.writeJSON(value, kind: field.kind, into: &writer)
                return writer.text
            }
            throw DynamicProtoError(.invalidValue, "a google.protobuf.Value has no kind set")
        case "google.protobuf.Any":
            guard case .string(let url)? = field(1), case .bytes(let bytes)? = field(2) else { return nil }
            if url.isEmpty { return "{}" }
            let type = try anyType(url, pool: pool)
            let packed = try DynamicMessage(serializedBytes: bytes, type: type, pool: pool)
            writer.text.append("{\"@type\":")
            writer.string(url)
            if let special = try write(packed) {
                writer.text.append(",\"value\":")
                writer.text.append(special)
            } else {
                try packed.writeFields(into: &writer, first: false)
            }
            writer.text.append("}")
        default:
            return nil
        }
        return writer.text
    }

    private static func anyType(_ url: String, pool: DescriptorPool) throws(DynamicProtoError) -> MessageID {
        let name = url.split(separator: "/").last.map(String.init) ?? url
        guard let type = pool.message(named: name) else {
            throw DynamicProtoError(.invalidValue, "google.protobuf.Any holds \(url), which is not a type in the descriptor set")
        }
        return type
    }

    /// The message for `json` if `type` has a special form, else nil.
    static func read(_ json: JSONValue, type: MessageID, reading: JSONReading) throws(DynamicProtoError) -> DynamicMessage? {
        let pool = reading.pool
        let descriptor = pool[type]
        let name = descriptor.fullName
        guard name.hasPrefix("google.protobuf.") else { return nil }
        var message = DynamicMessage(type: type, pool: pool)
        func fail(_ what: String) -> DynamicProtoError { DynamicProtoError(.invalidJSON, "\(name): \(what)") }
        switch name {
        case "google.protobuf.Timestamp", "google.protobuf.Duration":
            guard case .string(let text) = json else { throw fail("expected a string") }
            let parsed = name.hasSuffix("Timestamp") ? TimestampText.parse(text) : DurationText.parse(text)
            guard let (seconds, nanos) = parsed else { throw fail("\"\(text)\" is not a valid \(descriptor.name)") }
            message.values[0] = .single(.int64(seconds))
            message.values[1] = .single(.int32(nanos))
        case _ where wrappers.contains(name):
            guard let field = descriptor.field(number: 1) else { return nil }
            message.values[0] = .single(try reading.value(json, kind: field.kind, path: name))
        case "google.protobuf.FieldMask":
            guard case .string(let text) = json else { throw fail("expected a string") }
            let paths = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map {
                DynamicValue.string(PoolNaming.snakeCase(String($0)))
            }
            message.values[0] = .repeated(paths)
        case "google.protobuf.Struct":
            guard case .object = json, let fields = descriptor.field(number: 1) else { throw fail("expected a JSON object") }
            let wrapped = JSONValue.object([JSONMember(name: fields.jsonName, value: json)])
            return try reading.message(wrapped, typeSkippingSpecialForm: type)
        case "google.protobuf.ListValue":
            guard case .array(let elements) = json, let values = descriptor.field(number: 1) else { throw fail("expected a JSON array") }
            var list: [DynamicValue] = []
            for element in elements { list.append(try reading.value(element, kind: values.kind, path: name)) }
            message.values[0] = .repeated(list)
        case "google.protobuf.Value":
            let number: Int32
            let value: JSONValue
            switch json {
            case .null: (number, value) = (1, .null)
            case .number: (number, value) = (2, json)
            case .string: (number, value) = (3, json)
            case .bool: (number, value) = (4, json)
            case .object: (number, value) = (5, json)
            case .array: (number, value) = (6, json)
            }
            guard let index = descriptor.fieldIndex(number: number) else { return nil }
            message.values[index] = .single(try reading.value(value, kind: descriptor.fields[index].kind, path: name))
        case "google.protobuf.Any":
            guard case .object(let members) = json else { throw fail("expected a JSON object") }
            if members.isEmpty { return message }
            guard case .string(let url)? = members.first(where: { $0.name == "@type" })?.value else { throw fail("\"@type\" is missing") }
            let packedType = try anyType(url, pool: pool)
            let rest = JSONValue.object(members.filter { $0.name != "@type" })
            let packed: DynamicMessage
            if specialForms.contains(pool[packedType].fullName) {
                guard case .object(let inner) = rest, inner.count == 1, inner[0].name == "value" else {
                    throw fail("an Any holding \(pool[packedType].fullName) needs exactly a \"value\" member")
                }
                packed = try reading.message(inner[0].value, type: packedType)
            } else {
                packed = try reading.message(rest, type: packedType)
            }
            message.values[0] = .single(.string(url))
            message.values[1] = .single(.bytes(packed.serializedBytes()))
        default:
            return nil
        }
        return message
    }

    /// Types whose JSON is not an object of their fields (an Any holding one uses "value").
    private static let specialForms: Set<String> = wrappers.union([
        "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask", "google.protobuf.Struct",
        "google.protobuf.ListValue", "google.protobuf.Value", "google.protobuf.Any",
    ])
}

extension JSONReading {
    /// Reads `json` as an ordinary message of `type`, bypassing its special form (Struct's
    /// object is read as its `fields` map).
    func message(_ json: JSONValue, typeSkippingSpecialForm type: MessageID) throws(DynamicProtoError) -> DynamicMessage {
        var plain = self
        plain.skipSpecialFormOnce = type
        return try plain.message(json, type: type)
    }
}

/// RFC 3339 timestamps as proto3 JSON writes them: UTC, "Z", 0/3/6/9 fraction digits.
enum TimestampText {
    static let minSeconds: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
    static let maxSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

    static func format(seconds: Int64, nanos: Int32) -> String? {
        guard (minSeconds...maxSeconds).contains(seconds), (0..<1_000_000_000).contains(nanos) else { return nil }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let yearText = String(repeating: "0", count: max(0, 4 - "\(year)".count)) + "\(year)"
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
            + fraction(nanos) + "Z"
    }

    static func parse(_ text: String) -> (Int64, Int32)? {
        let chars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= chars.count, range.allSatisfy({ (48...57).contains(chars[$0]) }) else { return nil }
            return Int64(String(decoding: chars[range], as: UTF8.self))
        }
        guard chars.count >= 20, chars[4] == 45, chars[7] == 45, chars[10] == 84 || chars[10] == 116, chars[13] == 58, chars[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var nanos: Int32 = 0
        if chars[index] == 46 {
            index += 1
            let start = index
            while index < chars.count, (48...57).contains(chars[index]) { index += 1 }
            let digits = index - start
            guard (1...9).contains(digits), let value = number(start..<index) else { return nil }
            nanos = Int32(value) * Int32(pow10(9 - digits))
        }
        guard index < chars.count else { return nil }
        var offset: Int64 = 0
        switch chars[index] {
        case 90, 122: index += 1  // Z
        case 43, 45:
            guard let hours = number(index + 1..<index + 3), index + 3 < chars.count, chars[index + 3] == 58,
                let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (chars[index] == 45 ? -1 : 1)
            index += 6
        default: return nil
        }
        guard index == chars.count else { return nil }
        let seconds = days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard (minSeconds...maxSeconds).contains(seconds) else { return nil }
        return (seconds, nanos)
    }

    static func fraction(_ nanos: Int32) -> String {
        guard nanos != 0 else { return "" }
        let (digits, value): (Int, Int32) =
            nanos % 1_000_000 == 0 ? (3, nanos / 1_000_000) : nanos % 1000 == 0 ? (6, nanos / 1000) : (9, nanos)
        let text = "\(value)"
        return "." + String(repeating: "0", count: digits - text.count) + text
    }

    static func pow10(_ n: Int) -> Int64 { (0..<n).reduce(1) { value, _ in value * 10 } }

    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Durations as proto3 JSON writes them: "-1.5s", 0/3/6/9 fraction digits.
enum DurationText {
    static let maxSeconds: Int64 = 315_576_000_000

    static func format(seconds: Int64, nanos: Int32) -> String? {
        // `magnitude`, not `abs`: abs(Int64.min) traps, and these values come from clients.
        guard seconds.magnitude <= UInt64(maxSeconds), nanos.magnitude < 1_000_000_000,
            seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0)
        else { return nil }
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + "\(seconds.magnitude)" + TimestampText.fraction(Int32(nanos.magnitude)) + "s"
    }

    static func parse(_ text: String) -> (Int64, Int32)? {
        guard text.hasSuffix("s") else { return nil }
        var body = Substring(text.dropLast())
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII), let seconds = Int64(parts[0]),
            seconds <= maxSeconds
        else { return nil }
        var nanos: Int32 = 0
        if parts.count == 2 {
            guard (1...9).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int32(parts[1]) else {
                return nil
            }
            nanos = value * Int32(TimestampText.pow10(9 - parts[1].count))
        }
        return negative ? (-seconds, -nanos) : (seconds, nanos)
    }
}
