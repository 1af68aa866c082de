/// Why a descriptor set could not be used, or a message could not be decoded or encoded.
public struct DescriptorError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The bytes are not a FileDescriptorSet, or a descriptor in it is malformed.
        public static let invalidDescriptor = Code("invalidDescriptor")
        /// A file imports a file that is not in the set.
        public static let missingDependency = Code("missingDependency")
        /// A field or method names a type that no file in the set defines.
        public static let unknownType = Code("unknownType")
        /// Two files, types, fields or numbers share a name.
        public static let duplicateName = Code("duplicateName")
        /// A feature DynamicProto does not handle (e.g. editions).
        public static let unsupported = Code("unsupported")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
