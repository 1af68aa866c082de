/// Options for reading proto3 JSON.
public struct JSONReadOptions: Sendable {
    /// Skip members that name no field (default: refuse them).
    public var ignoreUnknownFields = false
    /// How deep objects and arrays may nest.
    public var depthLimit = DynamicMessage.defaultDepthLimit

    public init() {}
}

extension DynamicMessage {
    /// The proto3 canonical JSON of this message: lowerCamelCase names, fields in number order,
    /// defaults of fields without presence left out, 64-bit integers as strings, enums by name,
    /// bytes as base64, and the special forms of Timestamp, Duration, wrappers, FieldMask,
    /// Struct/Value/ListValue and Any.
    public func jsonString() throws(DynamicProtoError) -> String {
        var writer = JSONWriter()
        try writeJSON(into: &writer)
        return writer.text
    }

    /// Reads proto3 JSON as a message of `type`. Fields may be named by their JSON or .proto name;
    /// `null` leaves a field unset; integers may be numbers or strings.
    public init(jsonString: String, type: MessageID, pool: DescriptorPool, options: JSONReadOptions = JSONReadOptions())
        throws(DynamicProtoError)
    {
        let json = try JSONParser.parse(jsonString, depthLimit: options.depthLimit)
        self = try JSONReading(pool: pool, options: options).message(json, type: type)
    }

    // MARK: - Writing

    func writeJSON(into writer: inout JSONWriter) throws(DynamicProtoError) {
        if let special = try WellKnownJSON.write(self) {
            writer.text.append(special)
            return
        }
        writer.text.append("{")
        try writeFields(into: &writer, first: true)
        writer.text.append("}")
    }

    /// Writes the members of this message's fields (for Any, after its "@type").
    func writeFields(into writer: inout JSONWriter, first: Bool) throws(DynamicProtoError) {
        var first = first
        for (index, field) in descriptor.fields.enumerated() {
            guard let value = values[index] else { continue }
            switch value {
            case .single(let single) where !field.hasPresence && pool.isDefault(single): continue
            case .repeated(let list) where list.isEmpty: continue
            case .map(let map) where map.isEmpty: continue
            default: break
            }
            if !first { writer.text.append(",") }
            first = false
            writer.string(field.jsonName)
            writer.text.append(":")
            switch value {
            case .single(let single): try pool.writeJSON(single, kind: field.kind, into: &writer)
            case .repeated(let list):
                writer.text.append("[")
                for (position, element) in list.enumerated() {
                    if position > 0 { writer.text.append(",") }
                    try pool.writeJSON(element, kind: field.kind, into: &writer)
                }
                writer.text.append("]")
            case .map(let map):
                guard let entry = field.mapEntry else { continue }
                let valueKind = pool.mapFields(entry).value.kind
                writer.text.append("{")
                for (position, key) in map.keys.sorted(by: DynamicValue.mapKeyOrder).enumerated() {
                    if position > 0 { writer.text.append(",") }
                    writer.string(key.mapKeyText)
                    writer.text.append(":")
                    try pool.writeJSON(map[key] ?? pool.defaultValue(of: pool.mapFields(entry).value), kind: valueKind, into: &writer)
                }
                writer.text.append("}")
            }
        }
    }
}

extension DynamicValue {
    /// A map key as a JSON member name.
    var mapKeyText: String {
        switch self {
        case .int32(let v): "\(v)"
        case .int64(let v): "\(v)"
        case .uint32(let v): "\(v)"
        case .uint64(let v): "\(v)"
        case .bool(let v): v ? "true" : "false"
        case .string(let v): v
        default: ""
        }
    }
}

extension DescriptorPool {
    func writeJSON(_ value: DynamicValue, kind: FieldKind, into writer: inout JSONWriter) throws(DynamicProtoError) {
        func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(_ v: F) {
            if v.isNaN {
                writer.text.append("\"NaN\"")
            } else if v.isInfinite {
                writer.text.append(v < 0 ? "\"-Infinity\"" : "\"Infinity\"")
            } else {
                writer.text.append(v.description)
            }
        }
        switch value {
        case .int32(let v): writer.text.append("\(v)")
        case .uint32(let v): writer.text.append("\(v)")
        case .int64(let v): writer.text.append("\"\(v)\"")
        case .uint64(let v): writer.text.append("\"\(v)\"")
        case .float(let v): floating(v)
        case .double(let v): floating(v)
        case .bool(let v): writer.text.append(v ? "true" : "false")
        case .string(let v): writer.string(v)
        case .bytes(let v): writer.string(Base64.encode(v))
        case .enumeration(let number):
            guard case .enumeration(let id) = kind else { return }
            if enums[id.index].fullName == "google.protobuf.NullValue" {
                writer.text.append("null")
            } else if let name = enums[id.index].name(of: number) {
                writer.string(name)
            } else {
                writer.text.append("\(number)")
            }
        case .message(let message): try message.writeJSON(into: &writer)
        }
    }
}

/// Turns parsed JSON into messages of a pool.
struct JSONReading {
    let pool: DescriptorPool
    let options: JSONReadOptions
    /// Set while reading a Struct's object as its plain `fields` map.
    var skipSpecialFormOnce: MessageID?

    init(pool: DescriptorPool, options: JSONReadOptions) {
        self.pool = pool
        self.options = options
    }

    func message(_ json: JSONValue, type: MessageID) throws(DynamicProtoError) -> DynamicMessage {
        var reading = self
        if reading.skipSpecialFormOnce == type {
            reading.skipSpecialFormOnce = nil
        } else if let special = try WellKnownJSON.read(json, type: type, reading: self) {
            return special
        }
        return try reading.plainMessage(json, type: type)
    }

    private func plainMessage(_ json: JSONValue, type: MessageID) throws(DynamicProtoError) -> DynamicMessage {
        let descriptor = pool[type]
        guard case .object(let members) = json else {
            throw DynamicProtoError(.invalidJSON, "\(descriptor.fullName) must be a JSON object")
        }
        var message = DynamicMessage(type: type, pool: pool)
        var oneofsSet: [Int: String] = [:]
        for member in members {
            let (name, value) = (member.name, member.value)
            guard let index = descriptor.fieldIndex(named: name) else {
                if options.ignoreUnknownFields { continue }
                throw DynamicProtoError(.invalidJSON, "\(descriptor.fullName) has no field \"\(name)\"")
            }
            let field = descriptor.fields[index]
            let path = "\(descriptor.fullName).\(field.name)"
            if value == .null, !acceptsNull(field.kind) { continue }
            if let oneof = field.oneofIndex {
                if let other = oneofsSet[oneof] {
                    throw DynamicProtoError(.invalidJSON, "\(path) and \(other) are members of the same oneof; set only one")
                }
                oneofsSet[oneof] = field.name
            }
            if let entry = field.mapEntry {
                guard case .object(let entries) = value else { throw DynamicProtoError(.invalidJSON, "\(path) must be a JSON object") }
                let (keyField, valueField) = pool.mapFields(entry)
                var map: [DynamicValue: DynamicValue] = [:]
                for entry in entries {
                    let (key, entryValue) = (entry.name, entry.value)
                    map[try mapKey(key, kind: keyField.kind, path: path)] = try self.value(entryValue, kind: valueField.kind, path: path)
                }
                message.values[index] = .map(map)
            } else if field.isRepeated {
                guard case .array(let elements) = value else { throw DynamicProtoError(.invalidJSON, "\(path) must be a JSON array") }
                var list: [DynamicValue] = []
                list.reserveCapacity(elements.count)
                for element in elements { list.append(try self.value(element, kind: field.kind, path: path)) }
                message.values[index] = .repeated(list)
            } else {
                message.values[index] = .single(try self.value(value, kind: field.kind, path: path))
            }
        }
        return message
    }

    /// `google.protobuf.Value` fields take `null` as a value; every other field reads it as unset.
    private func acceptsNull(_ kind: FieldKind) -> Bool {
        switch kind {
        case .message(let id): pool[id].fullName == "google.protobuf.Value"
        case .enumeration(let id): pool[id].fullName == "google.protobuf.NullValue"
        default: false
        }
    }

    private func mapKey(_ text: String, kind: FieldKind, path: String) throws(DynamicProtoError) -> DynamicValue {
        switch kind {
        case .string: return .string(text)
        case .bool:
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw DynamicProtoError(.invalidJSON, "\(path): map key \"\(text)\" is not true or false")
            }
        default: return try value(.string(text), kind: kind, path: path + " key")
        }
    }

    func value(_ json: JSONValue, kind: FieldKind, path: String) throws(DynamicProtoError) -> DynamicValue {
        func fail(_ what: String) -> DynamicProtoError { DynamicProtoError(.invalidJSON, "\(path): \(what)") }
        func integerText() throws(DynamicProtoError) -> String {
            switch json {
            case .number(let text), .string(let text): return text
            default: throw fail("expected an integer")
            }
        }
        /// Integers may come as "12", 12, 1.2e1 or "1.2e1", as long as the value is integral.
        func integer<T: FixedWidthInteger>(_: T.Type) throws(DynamicProtoError) -> T {
            let text = try integerText()
            if let exact = T(text) { return exact }
            guard let double = Double(text), double.rounded() == double, let exact = T(exactly: double) else {
                throw fail("\(text) is not a \(T.self)")
            }
            return exact
        }
        func floating() throws(DynamicProtoError) -> Double {
            switch json {
            case .number(let text):
                guard let v = Double(text), v.isFinite else { throw fail("\(text) is out of range") }
                return v
            case .string("NaN"): return .nan
            case .string("Infinity"): return .infinity
            case .string("-Infinity"): return -.infinity
            case .string(let text):
                guard let v = Double(text), v.isFinite, !text.contains(where: { $0 == " " }) else {
                    throw fail("\"\(text)\" is not a number")
                }
                return v
            default: throw fail("expected a number")
            }
        }
        switch kind {
        case .int32, .sint32, .sfixed32: return .int32(try integer(Int32.self))
        case .int64, .sint64, .sfixed64: return .int64(try integer(Int64.self))
        case .uint32, .fixed32: return .uint32(try integer(UInt32.self))
        case .uint64, .fixed64: return .uint64(try integer(UInt64.self))
        case .double: return .double(try floating())
        case .float:
            let v = try floating()
            guard !v.isFinite || abs(v) <= Double(Float.greatestFiniteMagnitude) else { throw fail("\(v) is out of range for float") }
            return .float(Float(v))
        case .bool:
            guard case .bool(let v) = json else { throw fail("expected true or false") }
            return .bool(v)
        case .string:
            guard case .string(let v) = json else { throw fail("expected a string") }
            return .string(v)
        case .bytes:
            guard case .string(let text) = json, let bytes = Base64.decode(text) else { throw fail("expected base64 text") }
            return .bytes(bytes)
        case .enumeration(let id):
            let enumType = pool[id]
            switch json {
            case .null where enumType.fullName == "google.protobuf.NullValue": return .enumeration(0)
            case .string(let name):
                guard let number = enumType.number(of: name) else { throw fail("\"\(name)\" is not a value of \(enumType.fullName)") }
                return .enumeration(number)
            case .number:
                let number = try integer(Int32.self)
                if enumType.isClosed, enumType.name(of: number) == nil { throw fail("\(number) is not a value of \(enumType.fullName)") }
                return .enumeration(number)
            default: throw fail("expected an enum name or number")
            }
        case .message(let type), .group(let type):
            return .message(try message(json, type: type))
        }
    }
}
