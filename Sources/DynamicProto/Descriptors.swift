import WasmRPCCore
/// A message type in a `DescriptorPool`, referred to by index so that recursive types need no
/// reference cycles.
public struct MessageID: Hashable, Sendable {
    public let index: Int
}

/// An enum type in a `DescriptorPool`.
public struct EnumID: Hashable, Sendable {
    public let index: Int
}

public enum Syntax: String, Sendable {
    case proto2, proto3
}

/// What a field holds.
public enum FieldKind: Hashable, Sendable {
    case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32
    case sfixed32, sfixed64, sint32, sint64
    case enumeration(EnumID)
    case message(MessageID)
    /// A proto2 group: a message delimited by start/end-group tags.
    case group(MessageID)

    /// The wire type of one (unpacked) value.
    var wireType: WireType {
        switch self {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .bool, .enumeration: .varint
        case .fixed64, .sfixed64, .double: .fixed64
        case .fixed32, .sfixed32, .float: .fixed32
        case .string, .bytes, .message: .lengthDelimited
        case .group: .startGroup
        }
    }

    /// Whether repeated values of this kind may be packed.
    var isPackable: Bool {
        switch self {
        case .string, .bytes, .message, .group: false
        default: true
        }
    }

    /// Whether this kind may be a map key.
    var isValidMapKey: Bool {
        switch self {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .fixed32, .fixed64, .sfixed32, .sfixed64, .bool, .string: true
        default: false
        }
    }
}

public struct FieldDescriptor: Sendable {
    /// The name in the .proto file.
    public let name: String
    /// The proto3 JSON name (lowerCamelCase unless set explicitly).
    public let jsonName: String
    public let number: Int32
    public let kind: FieldKind
    public let isRepeated: Bool
    /// proto2 `required`.
    public let isRequired: Bool
    /// Repeated scalars are written packed.
    public let isPacked: Bool
    /// Singular fields that track whether they are set (proto2 optional, proto3 `optional`, message
    /// fields, oneof members); the others are omitted when they hold their default.
    public let hasPresence: Bool
    /// Index into `MessageDescriptor.oneofs` for members of a real (not synthetic) oneof.
    public let oneofIndex: Int?
    /// For map fields, the entry type (fields `key` = 1 and `value` = 2).
    public let mapEntry: MessageID?
    /// The proto2 default, if the field declares one.
    public let defaultValue: DynamicValue?
}

/// A message type. A class so that the codecs, which consult it for every field, share one
/// reference instead of copying its arrays and tables.
public final class MessageDescriptor: Sendable {
    public let fullName: String
    public let name: String
    public let fileName: String
    public let syntax: Syntax
    /// Fields in field-number order.
    public let fields: [FieldDescriptor]
    /// Names of the real oneofs (synthetic ones of proto3 `optional` are left out).
    public let oneofs: [String]
    public let isMapEntry: Bool
    let fieldIndexByNumber: [Int32: Int]
    let fieldIndexByName: [String: Int]
    /// Field indices by number for numbers below 128 (most fields): an array lookup, no hashing.
    private let smallNumbers: [Int]

    init(
        fullName: String, name: String, fileName: String, syntax: Syntax, fields: [FieldDescriptor], oneofs: [String],
        isMapEntry: Bool, fieldIndexByNumber: [Int32: Int], fieldIndexByName: [String: Int]
    ) {
        self.fullName = fullName
        self.name = name
        self.fileName = fileName
        self.syntax = syntax
        self.fields = fields
        self.oneofs = oneofs
        self.isMapEntry = isMapEntry
        self.fieldIndexByNumber = fieldIndexByNumber
        self.fieldIndexByName = fieldIndexByName
        var small = [Int](repeating: -1, count: 128)
        for (number, index) in fieldIndexByNumber where number < 128 { small[Int(number)] = index }
        self.smallNumbers = small
    }

    /// The field with this number.
    public func field(number: Int32) -> FieldDescriptor? {
        fieldIndexByNumber[number].map { fields[$0] }
    }

    /// The field with this .proto or JSON name.
    public func field(named name: String) -> FieldDescriptor? {
        fieldIndexByName[name].map { fields[$0] }
    }

    func fieldIndex(number: Int32) -> Int? {
        if number >= 0, number < 128 {
            let index = smallNumbers[Int(number)]
            return index < 0 ? nil : index
        }
        return fieldIndexByNumber[number]
    }
    func fieldIndex(named name: String) -> Int? { fieldIndexByName[name] }
}

public struct EnumDescriptor: Sendable {
    public let fullName: String
    public let name: String
    /// Values in declaration order; the first is the proto3 default.
    public let values: [(name: String, number: Int32)]
    /// proto2 enums are closed: unknown numbers are kept as unknown fields, not as values.
    public let isClosed: Bool

    public func name(of number: Int32) -> String? { values.first { $0.number == number }?.name }
    public func number(of name: String) -> Int32? { values.first { $0.name == name }?.number }
}

public struct MethodDescriptor: Sendable {
    public let name: String
    /// `/package.Service/method`, as on the gRPC wire.
    public let methodPath: MethodPath
    /// `methodPath` as text.
    public var path: String { methodPath.description }
    public let input: MessageID
    public let output: MessageID
    public let clientStreaming: Bool
    public let serverStreaming: Bool
    /// The standard method option `idempotency_level`.
    public let idempotencyLevel: IdempotencyLevel
}

/// `google.protobuf.MethodOptions.IdempotencyLevel`: what a method promises about side effects.
public enum IdempotencyLevel: Sendable, Hashable {
    /// No promise (the option is absent).
    case unknown
    /// Calling it changes nothing (`NO_SIDE_EFFECTS`).
    case noSideEffects
    /// Calling it again with the same input changes nothing more (`IDEMPOTENT`).
    case idempotent

    /// The name the option's value has in a .proto file; nil for `unknown`.
    public var protoName: String? {
        switch self {
        case .unknown: nil
        case .noSideEffects: "NO_SIDE_EFFECTS"
        case .idempotent: "IDEMPOTENT"
        }
    }
}

public struct ServiceDescriptor: Sendable {
    public let fullName: String
    public let name: String
    public let fileName: String
    public let methods: [MethodDescriptor]
}
