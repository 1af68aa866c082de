@testable import DynamicProto

/// Whether two messages hold the same content, independently of the encoder: unset and default
/// are the same for fields without presence, empty repeated fields and maps are unset, and floats
/// compare by bit pattern (so NaN equals itself and -0.0 differs from 0.0).
func sameContent(_ a: DynamicMessage, _ b: DynamicMessage) -> Bool {
    guard a.type == b.type, a.unknownFields == b.unknownFields else { return false }
    for (index, field) in a.descriptor.fields.enumerated() {
        let (left, right) = (normalized(a.values[index], field, a.pool), normalized(b.values[index], field, b.pool))
        switch (left, right) {
        case (nil, nil): continue
        case (.single(let x)?, .single(let y)?): if !same(x, y) { return false }
        case (.repeated(let x)?, .repeated(let y)?): if x.count != y.count || !zip(x, y).allSatisfy(same) { return false }
        case (.map(let x)?, .map(let y)?):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y[key], same(value, other) else { return false }
            }
        default: return false
        }
    }
    return true
}

private func normalized(_ value: FieldValue?, _ field: FieldDescriptor, _ pool: DescriptorPool) -> FieldValue? {
    switch value {
    case .single(let single)? where !field.hasPresence && isZero(single): nil
    case .repeated(let list)? where list.isEmpty: nil
    case .map(let map)? where map.isEmpty: nil
    default: value
    }
}

private func same(_ a: DynamicValue, _ b: DynamicValue) -> Bool {
    switch (a, b) {
    case (.float(let x), .float(let y)): x.bitPattern == y.bitPattern
    case (.double(let x), .double(let y)): x.bitPattern == y.bitPattern
    case (.message(let x), .message(let y)): sameContent(x, y)
    default: a == b
    }
}

/// The proto3 defaults, written out here rather than taken from the codec under test.
private func isZero(_ value: DynamicValue) -> Bool {
    switch value {
    case .int32(let v): v == 0
    case .int64(let v): v == 0
    case .uint32(let v): v == 0
    case .uint64(let v): v == 0
    case .float(let v): v.bitPattern == 0
    case .double(let v): v.bitPattern == 0
    case .bool(let v): v == false
    case .string(let v): v == ""
    case .bytes(let v): v == []
    case .enumeration(let v): v == 0
    case .message: false
    }
}
