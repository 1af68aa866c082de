import WasmRPCCore

/// Why DynamicProto could not use a descriptor set, or decode, encode or build a message. The
/// message names the file, type or field.
public struct DynamicProtoError: LayerError {
    public typealias Code = ErrorCode<DynamicProtoError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension ErrorCode where Layer == DynamicProtoError {
    // Descriptor sets.
    /// The bytes are not a FileDescriptorSet, or a descriptor in it is malformed.
    public static let invalidDescriptor = Self("invalidDescriptor")
    /// A file imports a file that is not in the set.
    public static let missingDependency = Self("missingDependency")
    /// A field or method names a type that no file in the set defines.
    public static let unknownType = Self("unknownType")
    /// Two files, types, fields or numbers share a name.
    public static let duplicateName = Self("duplicateName")
    /// A feature DynamicProto does not handle (e.g. editions).
    public static let unsupported = Self("unsupported")

    // Messages.
    /// The bytes end in the middle of a tag, varint, fixed value or length-delimited field.
    public static let truncated = Self("truncated")
    /// A varint longer than 10 bytes, a field number 0, an unknown wire type, an unmatched group.
    public static let malformed = Self("malformed")
    /// A known field arrived with a wire type its type cannot have.
    public static let wrongWireType = Self("wrongWireType")
    /// A string field is not valid UTF-8.
    public static let invalidUTF8 = Self("invalidUTF8")
    /// Nesting deeper than the decoder's limit.
    public static let tooDeep = Self("tooDeep")
    /// A value of the wrong kind for its field, or an unknown field name.
    public static let invalidValue = Self("invalidValue")
    /// JSON that is not well-formed, or does not fit the message type.
    public static let invalidJSON = Self("invalidJSON")
}
