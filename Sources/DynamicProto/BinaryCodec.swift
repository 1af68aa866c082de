extension DynamicMessage {
    /// How deep messages and groups may nest when decoding (as swift-protobuf's default).
    public static let defaultDepthLimit = 100

    /// Decodes protobuf binary `bytes` as a message of `type`.
    ///
    /// Repeated scalars are accepted packed or not; a message field that occurs twice is merged;
    /// fields the type does not declare are kept in `unknownFields`; unknown values of a proto2
    /// (closed) enum also go there, as swift-protobuf does.
    public init(
        serializedBytes bytes: [UInt8], type: MessageID, pool: DescriptorPool, depthLimit: Int = DynamicMessage.defaultDepthLimit
    ) throws(DynamicProtoError) {
        let decoded: Result<DynamicMessage, DynamicProtoError> = bytes.withUnsafeBytes { buffer in
            var message = DynamicMessage(type: type, pool: pool)
            var reader = WireReader(buffer: buffer, index: 0, end: buffer.count)
            do throws(DynamicProtoError) {
                try message.merge(from: &reader, depth: depthLimit, group: nil)
                return .success(message)
            } catch {
                return .failure(error)
            }
        }
        self = try decoded.get()
    }

    /// The canonical binary encoding: known fields in field-number order, fields without presence
    /// left out when they hold their default, map entries sorted by key, unknown fields last.
    /// Byte-for-byte what swift-protobuf writes with deterministic ordering.
    public func serializedBytes() -> [UInt8] {
        var writer = WireWriter()
        writer.bytes.reserveCapacity(64)
        encode(into: &writer)
        return writer.bytes
    }

    /// Whether protobuf binary `bytes` decode as a message of `type`: true exactly when
    /// `init(serializedBytes:type:pool:depthLimit:)` succeeds, without building the message (no
    /// values, strings, nested messages or unknown-field copies): for checking a call's messages
    /// on every call. Callers that need the reason decode to get its error.
    public static func isValid(
        serializedBytes bytes: [UInt8], type: MessageID, pool: DescriptorPool, depthLimit: Int = DynamicMessage.defaultDepthLimit
    ) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer: buffer, index: 0, end: buffer.count)
            return (try? check(&reader, type: type, pool: pool, depth: depthLimit, group: nil)) != nil
        }
    }

    /// `merge(from:depth:group:)`'s checks, field by field, with nothing kept.
    private static func check(_ reader: inout WireReader, type: MessageID, pool: DescriptorPool, depth: Int, group: Int32?)
        throws(DynamicProtoError)
    {
        guard depth > 0 else { throw DynamicProtoError(.tooDeep, "") }
        let descriptor = pool.messages[type.index]
        while !reader.isAtEnd {
            let (number, wireType) = try reader.tag()
            if wireType == .endGroup {
                guard let group, group == number else { throw DynamicProtoError(.malformed, "") }
                return
            }
            guard let index = descriptor.fieldIndex(number: number) else {
                try reader.skip(wireType, number: number, depth: depth - 1)
                continue
            }
            let field = descriptor.fields[index]
            if let entry = field.mapEntry {
                guard wireType == .lengthDelimited else { throw DynamicProtoError(.wrongWireType, "") }
                let range = try reader.lengthDelimited()
                var entryReader = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
                try check(&entryReader, type: entry, pool: pool, depth: depth - 1, group: nil)
            } else if field.isRepeated, wireType == .lengthDelimited, field.kind.isPackable {
                let range = try reader.lengthDelimited()
                var packed = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
                while !packed.isAtEnd { try checkValue(field.kind, &packed, pool: pool, depth: depth, number: field.number) }
            } else {
                guard wireType == field.kind.wireType else { throw DynamicProtoError(.wrongWireType, "") }
                try checkValue(field.kind, &reader, pool: pool, depth: depth, number: field.number)
            }
        }
        if group != nil { throw DynamicProtoError(.truncated, "") }
    }

    /// `readValue`'s checks for one value of `kind`.
    private static func checkValue(_ kind: FieldKind, _ reader: inout WireReader, pool: DescriptorPool, depth: Int, number: Int32)
        throws(DynamicProtoError)
    {
        switch kind {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .bool, .enumeration: _ = try reader.varint()
        case .fixed32, .sfixed32, .float: _ = try reader.fixed32()
        case .fixed64, .sfixed64, .double: _ = try reader.fixed64()
        case .bytes: _ = try reader.lengthDelimited()
        case .string:
            let range = try reader.lengthDelimited()
            guard String(validating: UnsafeRawBufferPointer(rebasing: reader.buffer[range]), as: UTF8.self) != nil else {
                throw DynamicProtoError(.invalidUTF8, "")
            }
        case .message(let type):
            let range = try reader.lengthDelimited()
            var nested = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
            try check(&nested, type: type, pool: pool, depth: depth - 1, group: nil)
        case .group(let type):
            try check(&reader, type: type, pool: pool, depth: depth - 1, group: number)
        }
    }

    // MARK: - Decoding

    /// Reads fields until the reader's end, or until the end-group tag of `group`.
    mutating func merge(from reader: inout WireReader, depth: Int, group: Int32?) throws(DynamicProtoError) {
        guard depth > 0 else { throw DynamicProtoError(.tooDeep, "\(descriptor.fullName) is nested deeper than the decoding limit") }
        let descriptor = self.descriptor
        while !reader.isAtEnd {
            let tagStart = reader.index
            let (number, wireType) = try reader.tag()
            if wireType == .endGroup {
                guard let group, group == number else {
                    throw DynamicProtoError(.malformed, "an end-group tag \(number) without its start in \(descriptor.fullName)")
                }
                return
            }
            guard let index = descriptor.fieldIndex(number: number) else {
                try reader.skip(wireType, number: number, depth: depth - 1)
                unknownFields.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.buffer[tagStart..<reader.index]))
                continue
            }
            try mergeField(at: index, wireType: wireType, from: &reader, tagStart: tagStart, depth: depth)
        }
        if let group { throw DynamicProtoError(.truncated, "group \(group) of \(descriptor.fullName) has no end") }
    }

    private mutating func mergeField(at index: Int, wireType: WireType, from reader: inout WireReader, tagStart: Int, depth: Int)
        throws(DynamicProtoError)
    {
        let field = descriptor.fields[index]
        let typeName = descriptor.fullName
        // Built only on the error paths: an interpolated string per field is most of a small message's cost.
        func path() -> String { "\(typeName).\(field.name)" }
        if let entry = field.mapEntry {
            guard wireType == .lengthDelimited else { throw wrongWireType(wireType, path()) }
            let range = try reader.lengthDelimited()
            var entryReader = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
            var decoded = DynamicMessage(type: entry, pool: pool)
            try decoded.merge(from: &entryReader, depth: depth - 1, group: nil)
            let (keyField, valueField) = pool.mapFields(entry)
            let key = decoded.values[0].flatMap(\.single) ?? pool.defaultValue(of: keyField)
            let value = decoded.values[1].flatMap(\.single) ?? pool.defaultValue(of: valueField)
            var map: [DynamicValue: DynamicValue]
            if case .map(let existing)? = values[index] { map = existing } else { map = [:] }
            map[key] = value
            values[index] = .map(map)
            return
        }
        if field.isRepeated {
            var list: [DynamicValue]
            if case .repeated(let existing)? = values[index] { list = existing } else { list = [] }
            if wireType == .lengthDelimited, field.kind.isPackable {
                let range = try reader.lengthDelimited()
                var packed = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
                while !packed.isAtEnd {
                    let valueStart = packed.index
                    let value = try readValue(field.kind, from: &packed, path: path(), depth: depth, number: field.number)
                    if isUnknownClosedEnum(value, field.kind) {
                        var writer = WireWriter(bytes: unknownFields)
                        writer.tag(field.number, .varint)
                        writer.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.buffer[valueStart..<packed.index]))
                        unknownFields = writer.bytes
                    } else {
                        list.append(value)
                    }
                }
            } else {
                guard wireType == field.kind.wireType else { throw wrongWireType(wireType, path()) }
                let value = try readValue(field.kind, from: &reader, path: path(), depth: depth, number: field.number)
                if isUnknownClosedEnum(value, field.kind) {
                    unknownFields.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.buffer[tagStart..<reader.index]))
                } else {
                    list.append(value)
                }
            }
            values[index] = .repeated(list)
            return
        }
        guard wireType == field.kind.wireType else { throw wrongWireType(wireType, path()) }
        switch field.kind {
        case .message(let type), .group(let type):
            // A message field that occurs again is merged into what was read before.
            var nested: DynamicMessage
            if case .single(.message(let existing))? = values[index] { nested = existing } else { nested = DynamicMessage(type: type, pool: pool) }
            if case .group = field.kind {
                try nested.merge(from: &reader, depth: depth - 1, group: field.number)
            } else {
                let range = try reader.lengthDelimited()
                var nestedReader = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
                try nested.merge(from: &nestedReader, depth: depth - 1, group: nil)
            }
            store(.single(.message(nested)), at: index)
        default:
            let value = try readValue(field.kind, from: &reader, path: path(), depth: depth, number: field.number)
            if isUnknownClosedEnum(value, field.kind) {
                unknownFields.append(contentsOf: UnsafeRawBufferPointer(rebasing: reader.buffer[tagStart..<reader.index]))
            } else {
                store(.single(value), at: index)
            }
        }
    }

    private func isUnknownClosedEnum(_ value: DynamicValue, _ kind: FieldKind) -> Bool {
        guard case .enumeration(let id) = kind, case .enumeration(let number) = value else { return false }
        let enumType = pool.enums[id.index]
        return enumType.isClosed && enumType.name(of: number) == nil
    }

    private func wrongWireType(_ wireType: WireType, _ path: String) -> DynamicProtoError {
        DynamicProtoError(.wrongWireType, "\(path) arrived with wire type \(wireType.rawValue), which its type cannot have")
    }

    /// Reads one value of `kind` (a message value is length-delimited; groups are handled by the caller).
    private func readValue(
        _ kind: FieldKind, from reader: inout WireReader, path: @autoclosure () -> String, depth: Int, number: Int32
    )
        throws(DynamicProtoError) -> DynamicValue
    {
        switch kind {
        case .int32: return .int32(Int32(truncatingIfNeeded: try reader.varint()))
        case .int64: return .int64(Int64(bitPattern: try reader.varint()))
        case .uint32: return .uint32(UInt32(truncatingIfNeeded: try reader.varint()))
        case .uint64: return .uint64(try reader.varint())
        case .sint32: return .int32(try reader.varint().unZigZag32)
        case .sint64: return .int64(try reader.varint().unZigZag64)
        case .bool: return .bool(try reader.varint() != 0)
        case .enumeration: return .enumeration(Int32(truncatingIfNeeded: try reader.varint()))
        case .fixed32: return .uint32(try reader.fixed32())
        case .sfixed32: return .int32(Int32(bitPattern: try reader.fixed32()))
        case .float: return .float(Float(bitPattern: try reader.fixed32()))
        case .fixed64: return .uint64(try reader.fixed64())
        case .sfixed64: return .int64(Int64(bitPattern: try reader.fixed64()))
        case .double: return .double(Double(bitPattern: try reader.fixed64()))
        case .bytes: return .bytes(reader.bytes(try reader.lengthDelimited()))
        case .string:
            let range = try reader.lengthDelimited()
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: reader.buffer[range]), as: UTF8.self) else {
                throw DynamicProtoError(.invalidUTF8, "\(path()) is not valid UTF-8")
            }
            return .string(text)
        case .message(let type):
            let range = try reader.lengthDelimited()
            var nested = WireReader(buffer: reader.buffer, index: range.lowerBound, end: range.upperBound)
            var message = DynamicMessage(type: type, pool: pool)
            try message.merge(from: &nested, depth: depth - 1, group: nil)
            return .message(message)
        case .group(let type):
            var message = DynamicMessage(type: type, pool: pool)
            try message.merge(from: &reader, depth: depth - 1, group: number)
            return .message(message)
        }
    }

    // MARK: - Encoding

    func encode(into writer: inout WireWriter) {
        let fields = descriptor.fields
        for index in fields.indices {
            guard let value = values[index] else { continue }
            let field = fields[index]
            switch value {
            case .single(let single):
                if !field.hasPresence, pool.isDefault(single) { continue }
                write(single, kind: field.kind, number: field.number, into: &writer)
            case .repeated(let list):
                guard !list.isEmpty else { continue }
                if field.isPacked {
                    writer.tag(field.number, .lengthDelimited)
                    writer.lengthDelimited { packed in
                        for element in list { writeBare(element, kind: field.kind, into: &packed) }
                    }
                } else {
                    for element in list { write(element, kind: field.kind, number: field.number, into: &writer) }
                }
            case .map(let map):
                guard let entry = field.mapEntry else { continue }
                let (keyField, valueField) = pool.mapFields(entry)
                for key in map.keys.sorted(by: DynamicValue.mapKeyOrder) {
                    writer.tag(field.number, .lengthDelimited)
                    writer.lengthDelimited { content in
                        write(key, kind: keyField.kind, number: 1, into: &content)
                        write(map[key] ?? pool.defaultValue(of: valueField), kind: valueField.kind, number: 2, into: &content)
                    }
                }
            }
        }
        writer.bytes.append(contentsOf: unknownFields)
    }

    private func write(_ value: DynamicValue, kind: FieldKind, number: Int32, into writer: inout WireWriter) {
        if case .group = kind, case .message(let message) = value {
            writer.tag(number, .startGroup)
            message.encode(into: &writer)
            writer.tag(number, .endGroup)
            return
        }
        writer.tag(number, kind.wireType)
        writeBare(value, kind: kind, into: &writer)
    }

    /// A value without its tag.
    private func writeBare(_ value: DynamicValue, kind: FieldKind, into writer: inout WireWriter) {
        switch (kind, value) {
        case (.sint32, .int32(let v)): writer.varint(v.zigZag)
        case (.sint64, .int64(let v)): writer.varint(v.zigZag)
        case (.sfixed32, .int32(let v)): writer.fixed32(UInt32(bitPattern: v))
        case (.sfixed64, .int64(let v)): writer.fixed64(UInt64(bitPattern: v))
        case (.fixed32, .uint32(let v)): writer.fixed32(v)
        case (.fixed64, .uint64(let v)): writer.fixed64(v)
        case (_, .int32(let v)): writer.varint(UInt64(bitPattern: Int64(v)))
        case (_, .int64(let v)): writer.varint(UInt64(bitPattern: v))
        case (_, .uint32(let v)): writer.varint(UInt64(v))
        case (_, .uint64(let v)): writer.varint(v)
        case (_, .enumeration(let v)): writer.varint(UInt64(bitPattern: Int64(v)))
        case (_, .bool(let v)): writer.varint(v ? 1 : 0)
        case (_, .float(let v)): writer.fixed32(v.bitPattern)
        case (_, .double(let v)): writer.fixed64(v.bitPattern)
        case (_, .string(let v)):
            writer.varint(UInt64(v.utf8.count))
            writer.bytes.append(contentsOf: v.utf8)
        case (_, .bytes(let v)): writer.lengthDelimited(v)
        case (_, .message(let v)):
            writer.lengthDelimited { v.encode(into: &$0) }
        }
    }
}

extension FieldValue {
    var single: DynamicValue? {
        if case .single(let value) = self { return value }
        return nil
    }
}

extension DynamicValue {
    /// The order swift-protobuf's deterministic encoding gives map keys.
    static func mapKeyOrder(_ a: DynamicValue, _ b: DynamicValue) -> Bool {
        switch (a, b) {
        case (.int32(let x), .int32(let y)): x < y
        case (.int64(let x), .int64(let y)): x < y
        case (.uint32(let x), .uint32(let y)): x < y
        case (.uint64(let x), .uint64(let y)): x < y
        case (.bool(let x), .bool(let y)): !x && y
        case (.string(let x), .string(let y)): x < y
        default: false
        }
    }
}

extension DescriptorPool {
    /// The value an unset field reads as: its proto2 default, else zero/empty/the first enum value.
    public func defaultValue(of field: FieldDescriptor) -> DynamicValue {
        if let value = field.defaultValue { return value }
        switch field.kind {
        case .int32, .sint32, .sfixed32: return .int32(0)
        case .int64, .sint64, .sfixed64: return .int64(0)
        case .uint32, .fixed32: return .uint32(0)
        case .uint64, .fixed64: return .uint64(0)
        case .float: return .float(0)
        case .double: return .double(0)
        case .bool: return .bool(false)
        case .string: return .string("")
        case .bytes: return .bytes([])
        case .enumeration(let id): return .enumeration(enums[id.index].values.first?.number ?? 0)
        case .message(let type), .group(let type): return .message(DynamicMessage(type: type, pool: self))
        }
    }

    /// Whether a field without presence holding `value` is left out of the encoding.
    func isDefault(_ value: DynamicValue) -> Bool {
        switch value {
        case .int32(let v): v == 0
        case .int64(let v): v == 0
        case .uint32(let v): v == 0
        case .uint64(let v): v == 0
        case .float(let v): v.bitPattern == 0
        case .double(let v): v.bitPattern == 0
        case .bool(let v): !v
        case .string(let v): v.isEmpty
        case .bytes(let v): v.isEmpty
        case .enumeration(let v): v == 0
        case .message: false
        }
    }
}
