/// One value of a field: a scalar, an enum number, or a nested message.
public enum DynamicValue: Sendable, Hashable {
    case int32(Int32), int64(Int64), uint32(UInt32), uint64(UInt64)
    case float(Float), double(Double), bool(Bool)
    case string(String), bytes([UInt8])
    /// An enum value by number (proto3 enums are open: the number need not be declared).
    case enumeration(Int32)
    case message(DynamicMessage)
}

/// What a field holds in a message.
public enum FieldValue: Sendable, Hashable {
    case single(DynamicValue)
    case repeated([DynamicValue])
    /// A map field: keys are `int32`…`string` values, per the entry's key type.
    case map([DynamicValue: DynamicValue])
}

/// A message of a type known only at run time, from a `DescriptorPool`.
///
/// Fields are stored by their index in the type's field list; unset fields are absent. Unknown
/// fields met while decoding are kept as raw bytes and written back after the known ones.
public struct DynamicMessage: Sendable, Hashable {
    public let pool: DescriptorPool
    public let type: MessageID
    var values: [FieldValue?]
    /// Wire bytes of fields the type does not declare, in the order they arrived.
    public var unknownFields: [UInt8] = []

    /// An empty message of `type`.
    public init(type: MessageID, pool: DescriptorPool) {
        self.pool = pool
        self.type = type
        self.values = Array(repeating: nil, count: pool.messages[type.index].fields.count)
    }

    public var descriptor: MessageDescriptor { pool.messages[type.index] }

    /// The value of a set field, by number.
    public func value(forField number: Int32) -> FieldValue? {
        descriptor.fieldIndex(number: number).flatMap { values[$0] }
    }

    /// The value of a set field, by .proto or JSON name.
    public func value(forField name: String) -> FieldValue? {
        descriptor.fieldIndex(named: name).flatMap { values[$0] }
    }

    /// Sets a field (by number), checking that the value fits its type. Setting a oneof member
    /// clears the others.
    public mutating func set(_ value: FieldValue, forField number: Int32) throws(DynamicProtoError) {
        guard let index = descriptor.fieldIndex(number: number) else {
            throw DynamicProtoError(.invalidValue, "\(descriptor.fullName) has no field number \(number)")
        }
        try check(value, for: descriptor.fields[index])
        store(value, at: index)
    }

    /// Sets a field by .proto or JSON name.
    public mutating func set(_ value: FieldValue, forField name: String) throws(DynamicProtoError) {
        guard let field = descriptor.field(named: name) else {
            throw DynamicProtoError(.invalidValue, "\(descriptor.fullName) has no field \"\(name)\"")
        }
        try set(value, forField: field.number)
    }

    public mutating func clearField(_ number: Int32) {
        if let index = descriptor.fieldIndex(number: number) { values[index] = nil }
    }

    /// Stores without checking (the codecs produce well-typed values), keeping oneofs exclusive.
    mutating func store(_ value: FieldValue, at index: Int) {
        if let oneof = descriptor.fields[index].oneofIndex {
            for (other, field) in descriptor.fields.enumerated() where field.oneofIndex == oneof && other != index {
                values[other] = nil
            }
        }
        values[index] = value
    }

    private func check(_ value: FieldValue, for field: FieldDescriptor) throws(DynamicProtoError) {
        let path = "\(descriptor.fullName).\(field.name)"
        switch value {
        case .single(let single):
            guard !field.isRepeated else { throw DynamicProtoError(.invalidValue, "\(path) is repeated") }
            try pool.check(single, kind: field.kind, path: path)
        case .repeated(let list):
            guard field.isRepeated, field.mapEntry == nil else { throw DynamicProtoError(.invalidValue, "\(path) is not a repeated field") }
            for element in list { try pool.check(element, kind: field.kind, path: path) }
        case .map(let entries):
            guard let entry = field.mapEntry else { throw DynamicProtoError(.invalidValue, "\(path) is not a map field") }
            let (keyField, valueField) = pool.mapFields(entry)
            for (key, entryValue) in entries {
                try pool.check(key, kind: keyField.kind, path: path + " key")
                try pool.check(entryValue, kind: valueField.kind, path: path + " value")
            }
        }
    }

    public static func == (lhs: DynamicMessage, rhs: DynamicMessage) -> Bool {
        lhs.pool === rhs.pool && lhs.type == rhs.type && lhs.values == rhs.values && lhs.unknownFields == rhs.unknownFields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(pool))
        hasher.combine(type)
        hasher.combine(values)
        hasher.combine(unknownFields)
    }
}

extension DescriptorPool {
    /// The key and value fields of a map entry type.
    func mapFields(_ entry: MessageID) -> (key: FieldDescriptor, value: FieldDescriptor) {
        let fields = messages[entry.index].fields
        return (fields[0], fields[1])
    }

    /// Throws unless `value` is a value of `kind`.
    func check(_ value: DynamicValue, kind: FieldKind, path: String) throws(DynamicProtoError) {
        let fits: Bool
        switch (kind, value) {
        case (.int32, .int32), (.sint32, .int32), (.sfixed32, .int32): fits = true
        case (.int64, .int64), (.sint64, .int64), (.sfixed64, .int64): fits = true
        case (.uint32, .uint32), (.fixed32, .uint32): fits = true
        case (.uint64, .uint64), (.fixed64, .uint64): fits = true
        case (.float, .float), (.double, .double), (.bool, .bool), (.string, .string), (.bytes, .bytes): fits = true
        case (.enumeration, .enumeration): fits = true
        case (.message(let type), .message(let message)), (.group(let type), .message(let message)):
            fits = message.type == type && message.pool === self
        default: fits = false
        }
        guard fits else { throw DynamicProtoError(.invalidValue, "\(path): \(value) is not a value of type \(kind)") }
    }
}
