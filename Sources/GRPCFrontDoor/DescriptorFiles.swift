import Foundation
import SwiftProtobuf

/// The files of one self-contained FileDescriptorSet (the built-in protos, or one module's
/// descriptor), indexed the way server reflection asks: by file name, by fully qualified symbol,
/// and by extended type and extension number.
struct DescriptorFiles: Sendable {
    private let files: [String: Google_Protobuf_FileDescriptorProto]
    /// Fully qualified symbol (`complex.Calculator`, `complex.Calculator.mul`, `complex.Complex.real`,
    /// `pkg.Enum`, `pkg.ENUM_VALUE`, `pkg.ext`) → the name of the file that defines it.
    private let symbols: [String: String]
    /// Extended message's full name → extension number → file name.
    private let extensions: [String: [Int32: String]]
    /// Full names of the message types.
    private let messages: Set<String>
    /// The size of the serialized set it was read from (what a cache of these weighs).
    let byteCount: Int

    init(set: Google_Protobuf_FileDescriptorSet, byteCount: Int = 0) {
        var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
        var symbols: [String: String] = [:]
        var extensions: [String: [Int32: String]] = [:]
        var messageNames: Set<String> = []
        for file in set.file {
            files[file.name] = file
            let scope = file.package.isEmpty ? "" : file.package + "."
            func add(_ symbol: String) { symbols[symbol] = symbols[symbol] ?? file.name }
            func addExtensions(_ fields: [Google_Protobuf_FieldDescriptorProto], scope: String) {
                for field in fields {
                    add(scope + field.name)
                    let extendee = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
                    extensions[extendee, default: [:]][field.number] = file.name
                }
            }
            func addEnums(_ enums: [Google_Protobuf_EnumDescriptorProto], scope: String) {
                for type in enums {
                    add(scope + type.name)
                    // Enum values are scoped like their enum, not inside it.
                    for value in type.value { add(scope + value.name) }
                }
            }
            func addMessages(_ messages: [Google_Protobuf_DescriptorProto], scope: String) {
                for message in messages {
                    let name = scope + message.name
                    add(name)
                    messageNames.insert(name)
                    for field in message.field { add(name + "." + field.name) }
                    for oneof in message.oneofDecl { add(name + "." + oneof.name) }
                    addMessages(message.nestedType, scope: name + ".")
                    addEnums(message.enumType, scope: name + ".")
                    addExtensions(message.extension, scope: name + ".")
                }
            }
            addMessages(file.messageType, scope: scope)
            addEnums(file.enumType, scope: scope)
            addExtensions(file.extension, scope: scope)
            for service in file.service {
                add(scope + service.name)
                for method in service.method { add(scope + service.name + "." + method.name) }
            }
        }
        self.files = files
        self.symbols = symbols
        self.extensions = extensions
        self.messages = messageNames
        self.byteCount = byteCount
    }

    init(serialized: [UInt8]) throws {
        self.init(set: try Google_Protobuf_FileDescriptorSet(serializedBytes: serialized), byteCount: serialized.count)
    }

    /// Everything a reflection query can ask this set for, by name.
    var names: ReflectionNames.Entry {
        ReflectionNames.Entry(
            files: Array(files.keys), symbols: Array(symbols.keys),
            extensions: extensions.flatMap { type, numbers in numbers.keys.map { ReflectionNames.Extension(type: type, number: $0) } },
            messages: Array(messages))
    }

    /// The file `name` and, after it, every file it depends on (transitively), serialized; nil if
    /// the set has no such file.
    func file(named name: String) -> [Data]? {
        guard files[name] != nil else { return nil }
        var order = [name]
        var seen: Set<String> = [name]
        var next = 0
        while next < order.count {
            for dependency in files[order[next]]?.dependency ?? [] where seen.insert(dependency).inserted && files[dependency] != nil {
                order.append(dependency)
            }
            next += 1
        }
        return order.compactMap { try? files[$0]?.serializedData() }
    }

    /// The file defining `symbol` (fully qualified, with or without a leading dot), with its
    /// dependencies.
    func file(containingSymbol symbol: String) -> [Data]? {
        let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        return symbols[name].flatMap(file(named:))
    }

    /// The file defining extension `number` of `type`, with its dependencies.
    func file(containingExtension number: Int32, of type: String) -> [Data]? {
        extensions[type]?[number].flatMap(file(named:))
    }

    /// Whether the set defines the message type `type`.
    func definesMessage(_ type: String) -> Bool {
        messages.contains(type)
    }

    /// The numbers of the extensions of `type` that this set defines.
    func extensionNumbers(of type: String) -> [Int32] {
        extensions[type].map { Array($0.keys) } ?? []
    }
}
