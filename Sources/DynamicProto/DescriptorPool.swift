import SwiftProtobuf
import WasmRPCCore

/// The types and services of a `google.protobuf.FileDescriptorSet`, resolved and checked.
///
/// Built from untrusted input (the descriptor uploaded with a module): every reference is
/// resolved up front, and anything malformed, ambiguous or missing is a `DynamicProtoError` naming
/// the file, type or field — never a crash. Immutable once built, so shareable across threads.
public final class DescriptorPool: Sendable {
    public let messages: [MessageDescriptor]
    public let enums: [EnumDescriptor]
    public let services: [ServiceDescriptor]
    /// The files of the set, as given.
    public let files: [Google_Protobuf_FileDescriptorProto]
    private let messageIndex: [String: Int]
    private let enumIndex: [String: Int]
    private let methodIndex: [MethodPath: MethodDescriptor]

    /// Parses and resolves a serialized FileDescriptorSet.
    public convenience init(serializedFileDescriptorSet bytes: [UInt8]) throws(DynamicProtoError) {
        let set: Google_Protobuf_FileDescriptorSet
        do {
            set = try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        } catch {
            throw DynamicProtoError(.invalidDescriptor, "not a serialized google.protobuf.FileDescriptorSet: \(error)")
        }
        try self.init(set)
    }

    public init(_ set: Google_Protobuf_FileDescriptorSet) throws(DynamicProtoError) {
        var builder = PoolBuilder()
        try builder.build(set.file)
        files = set.file
        messages = builder.messages
        enums = builder.enums
        services = builder.services
        messageIndex = builder.messageIndex
        enumIndex = builder.enumIndex
        methodIndex = Dictionary(uniqueKeysWithValues: builder.services.flatMap(\.methods).map { ($0.methodPath, $0) })
    }

    /// A message type by full name (`pkg.Outer.Inner`, with or without a leading dot).
    public func message(named fullName: String) -> MessageID? {
        messageIndex[Self.strip(fullName)].map(MessageID.init)
    }

    public func enumType(named fullName: String) -> EnumID? {
        enumIndex[Self.strip(fullName)].map(EnumID.init)
    }

    public subscript(message: MessageID) -> MessageDescriptor { messages[message.index] }
    public subscript(enumType: EnumID) -> EnumDescriptor { enums[enumType.index] }

    /// All methods of all services.
    public var methods: [MethodDescriptor] { services.flatMap(\.methods) }

    /// A method by gRPC path (`/pkg.Service/method`).
    public func method(path: String) -> MethodDescriptor? {
        MethodPath(path).flatMap { methodIndex[$0] }
    }

    /// The methods a short or qualified name can mean: `mul` (any service), `Calculator/mul` (by
    /// the service's simple name), `complex.Calculator/mul` or `/complex.Calculator/mul`.
    public func methods(matching name: String) -> [MethodDescriptor] {
        guard name.contains("/") else { return methods.filter { $0.name == name } }
        guard let wanted = MethodPath(name) else { return [] }
        return methods.filter { candidate in
            guard candidate.name == wanted.method else { return false }
            let service = candidate.methodPath.service
            return wanted.service.contains(".") ? service == wanted.service : service.split(separator: ".").last.map(String.init) == wanted.service
        }
    }

    private static func strip(_ name: String) -> String {
        name.hasPrefix(".") ? String(name.dropFirst()) : name
    }
}

/// Field-name conversions of protoc and the JSON mapping.
enum PoolNaming {
    /// lowerCamelCase → snake_case, as FieldMask paths convert back from JSON.
    static func snakeCase(_ camel: String) -> String {
        var result = ""
        for character in camel {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// protoc's default JSON name: underscores removed, the letter after each one upper-cased.
    static func jsonName(_ name: String) -> String {
        var result = ""
        var upperNext = false
        for character in name {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                result += character.uppercased()
                upperNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }
}
