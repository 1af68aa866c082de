import WasmRPCCore

/// Why DynamicProto could not use a descriptor set, or decode, encode or build a message. The
/// message names the file, type or field.
public struct DynamicProtoError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        // Descriptor sets.
        /// The bytes are not a FileDescriptorSet, or a descriptor in it is malformed.
        case invalidDescriptor
        /// A file imports a file that is not in the set.
        case missingDependency
        /// A field or method names a type that no file in the set defines.
        case unknownType
        /// Two files, types, fields or numbers share a name.
        case duplicateName
        /// A feature DynamicProto does not handle (e.g. editions).
        case unsupported

        // Messages.
        /// The bytes end in the middle of a tag, varint, fixed value or length-delimited field.
        case truncated
        /// A varint longer than 10 bytes, a field number 0, an unknown wire type, an unmatched group.
        case malformed
        /// A known field arrived with a wire type its type cannot have.
        case wrongWireType
        /// A string field is not valid UTF-8.
        case invalidUTF8
        /// Nesting deeper than the decoder's limit.
        case tooDeep
        /// A value of the wrong kind for its field, or an unknown field name.
        case invalidValue
        /// JSON that is not well-formed, or does not fit the message type.
        case invalidJSON

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
