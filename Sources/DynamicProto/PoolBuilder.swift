import SwiftProtobuf
import WasmRPCCore

/// Turns FileDescriptorProtos into resolved descriptors in two passes: first every type gets a
/// name and an index, then fields and methods are resolved against that index.
struct PoolBuilder {
    var messages: [MessageDescriptor] = []
    var enums: [EnumDescriptor] = []
    var services: [ServiceDescriptor] = []
    var messageIndex: [String: Int] = [:]
    var enumIndex: [String: Int] = [:]

    /// A message found in pass 1, waiting for its fields.
    private struct PendingMessage {
        let fullName: String
        let proto: Google_Protobuf_DescriptorProto
        let file: Google_Protobuf_FileDescriptorProto
        let syntax: Syntax
    }

    /// protoc refuses import cycles (a file importing itself included); so do we, naming the cycle.
    static func refuseImportCycles(_ files: [Google_Protobuf_FileDescriptorProto]) throws(DynamicProtoError) {
        let imports = Dictionary(files.map { ($0.name, $0.dependency) }, uniquingKeysWith: { first, _ in first })
        var done = Set<String>()
        for root in files.map(\.name) where !done.contains(root) {
            // Iterative depth-first search; `path` is the chain of files being visited.
            var path: [String] = [root]
            var next: [Int] = [0]
            while let file = path.last {
                let dependencies = imports[file] ?? []
                guard let position = next.last, position < dependencies.count else {
                    done.insert(file)
                    path.removeLast()
                    next.removeLast()
                    continue
                }
                next[next.count - 1] += 1
                let dependency = dependencies[position]
                if let start = path.firstIndex(of: dependency) {
                    let cycle = (path[start...] + [dependency]).joined(separator: " → ")
                    throw DynamicProtoError(.invalidDescriptor, "the descriptor set has an import cycle: \(cycle)")
                }
                if !done.contains(dependency) {
                    path.append(dependency)
                    next.append(0)
                }
            }
        }
    }

    private var pending: [PendingMessage] = []
    /// Nested types deeper than this are refused (a hostile descriptor could nest without end).
    private static let maxNesting = 64

    mutating func build(_ files: [Google_Protobuf_FileDescriptorProto]) throws(DynamicProtoError) {
        var names = Set<String>()
        for file in files {
            guard !file.name.isEmpty else { throw DynamicProtoError(.invalidDescriptor, "a file in the set has no name") }
            guard names.insert(file.name).inserted else {
                throw DynamicProtoError(.duplicateName, "the set contains the file \(file.name) twice")
            }
        }
        for file in files {
            for dependency in file.dependency where !names.contains(dependency) {
                throw DynamicProtoError(
                    .missingDependency,
                    "\(file.name) imports \(dependency), which is not in the descriptor set (build it with protoc --include_imports)")
            }
        }
        try Self.refuseImportCycles(files)
        for file in files {
            let syntax = try Self.syntax(of: file)
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for message in file.messageType {
                try declare(message, prefix: prefix, file: file, syntax: syntax, depth: 0)
            }
            for enumType in file.enumType {
                try declare(enumType, fullName: prefix + enumType.name, file: file, syntax: syntax)
            }
        }
        messages.reserveCapacity(pending.count)
        for message in pending {
            messages.append(try resolve(message))
        }
        var serviceNames = Set<String>()
        for file in files {
            for service in file.service {
                let resolved = try resolve(service, file: file)
                guard serviceNames.insert(resolved.fullName).inserted, messageIndex[resolved.fullName] == nil,
                    enumIndex[resolved.fullName] == nil
                else {
                    throw DynamicProtoError(.duplicateName, "\(resolved.fullName) is declared twice (again in \(file.name))")
                }
                services.append(resolved)
            }
        }
    }

    private static func syntax(of file: Google_Protobuf_FileDescriptorProto) throws(DynamicProtoError) -> Syntax {
        switch file.syntax {
        case "", "proto2": return .proto2
        case "proto3": return .proto3
        case "editions":
            throw DynamicProtoError(.unsupported, "\(file.name) uses protobuf editions, which DynamicProto does not support yet")
        default: throw DynamicProtoError(.invalidDescriptor, "\(file.name) has unknown syntax \"\(file.syntax)\"")
        }
    }

    private mutating func claim(_ fullName: String, in file: Google_Protobuf_FileDescriptorProto) throws(DynamicProtoError) {
        guard !fullName.isEmpty, !fullName.hasSuffix("."), !fullName.contains("..") else {
            throw DynamicProtoError(.invalidDescriptor, "\(file.name) declares a type with an empty name")
        }
        guard messageIndex[fullName] == nil, enumIndex[fullName] == nil else {
            throw DynamicProtoError(.duplicateName, "\(fullName) is declared twice (again in \(file.name))")
        }
    }

    private mutating func declare(
        _ message: Google_Protobuf_DescriptorProto, prefix: String, file: Google_Protobuf_FileDescriptorProto, syntax: Syntax,
        depth: Int
    ) throws(DynamicProtoError) {
        guard depth < Self.maxNesting else {
            throw DynamicProtoError(.invalidDescriptor, "\(file.name) nests types more than \(Self.maxNesting) levels deep")
        }
        let fullName = prefix + message.name
        try claim(fullName, in: file)
        messageIndex[fullName] = pending.count
        pending.append(PendingMessage(fullName: fullName, proto: message, file: file, syntax: syntax))
        for nested in message.nestedType {
            try declare(nested, prefix: fullName + ".", file: file, syntax: syntax, depth: depth + 1)
        }
        for enumType in message.enumType {
            try declare(enumType, fullName: fullName + "." + enumType.name, file: file, syntax: syntax)
        }
    }

    private mutating func declare(
        _ enumType: Google_Protobuf_EnumDescriptorProto, fullName: String, file: Google_Protobuf_FileDescriptorProto, syntax: Syntax
    ) throws(DynamicProtoError) {
        try claim(fullName, in: file)
        guard !enumType.value.isEmpty else { throw DynamicProtoError(.invalidDescriptor, "enum \(fullName) has no values") }
        if syntax == .proto3, enumType.value[0].number != 0 {
            throw DynamicProtoError(.invalidDescriptor, "the first value of proto3 enum \(fullName) must be 0")
        }
        enumIndex[fullName] = enums.count
        enums.append(
            EnumDescriptor(
                fullName: fullName, name: enumType.name, values: enumType.value.map { ($0.name, $0.number) },
                isClosed: syntax == .proto2))
    }

    /// Resolves a type reference the way protoc does: a leading dot means fully qualified;
    /// otherwise the innermost enclosing scope that defines the name wins.
    private func lookup(_ reference: String, from scope: String) -> FieldKind? {
        if reference.hasPrefix(".") {
            let name = String(reference.dropFirst())
            if let index = messageIndex[name] { return .message(MessageID(index: index)) }
            if let index = enumIndex[name] { return .enumeration(EnumID(index: index)) }
            return nil
        }
        var scope = Substring(scope)
        while true {
            let candidate = scope.isEmpty ? reference : scope + "." + reference
            if let index = messageIndex[candidate] { return .message(MessageID(index: index)) }
            if let index = enumIndex[candidate] { return .enumeration(EnumID(index: index)) }
            guard let dot = scope.lastIndex(of: ".") else {
                if scope.isEmpty { return nil }
                scope = ""
                continue
            }
            scope = scope[..<dot]
        }
    }

    private func resolve(_ pending: PendingMessage) throws(DynamicProtoError) -> MessageDescriptor {
        let proto = pending.proto
        let name = pending.fullName
        // Real oneofs are the ones with at least one member that is not a proto3 `optional`.
        var realOneofs: [Int: Int] = [:]
        var oneofNames: [String] = []
        for field in proto.field where field.hasOneofIndex && !field.proto3Optional {
            let declared = Int(field.oneofIndex)
            guard declared >= 0, declared < proto.oneofDecl.count else {
                throw DynamicProtoError(.invalidDescriptor, "\(name).\(field.name) names oneof #\(declared), which does not exist")
            }
            if realOneofs[declared] == nil {
                realOneofs[declared] = oneofNames.count
                oneofNames.append(proto.oneofDecl[declared].name)
            }
        }

        var fields: [FieldDescriptor] = []
        var byNumber: [Int32: Int] = [:]
        var byName: [String: Int] = [:]
        for field in proto.field.sorted(by: { $0.number < $1.number }) {
            let oneof = field.hasOneofIndex && !field.proto3Optional ? realOneofs[Int(field.oneofIndex)] : nil
            let resolved = try resolve(field, in: pending, oneof: oneof)
            guard byNumber[resolved.number] == nil else {
                throw DynamicProtoError(.duplicateName, "\(name) uses field number \(resolved.number) twice")
            }
            byNumber[resolved.number] = fields.count
            for alias in Set([resolved.name, resolved.jsonName]) {
                guard byName[alias] == nil else { throw DynamicProtoError(.duplicateName, "\(name) has two fields named \(alias)") }
                byName[alias] = fields.count
            }
            fields.append(resolved)
        }
        let isMapEntry = proto.options.mapEntry
        if isMapEntry {
            guard fields.count == 2, fields[0].number == 1, fields[1].number == 2, fields[0].kind.isValidMapKey,
                !fields[0].isRepeated, !fields[1].isRepeated
            else {
                throw DynamicProtoError(.invalidDescriptor, "\(name) is marked map_entry but is not a key = 1, value = 2 entry")
            }
        }
        return MessageDescriptor(
            fullName: name, name: proto.name, fileName: pending.file.name, syntax: pending.syntax, fields: fields,
            oneofs: oneofNames, isMapEntry: isMapEntry, fieldIndexByNumber: byNumber, fieldIndexByName: byName)
    }

    private func resolve(_ field: Google_Protobuf_FieldDescriptorProto, in message: PendingMessage, oneof: Int?)
        throws(DynamicProtoError) -> FieldDescriptor
    {
        let path = "\(message.fullName).\(field.name)"
        guard !field.name.isEmpty else { throw DynamicProtoError(.invalidDescriptor, "\(message.fullName) has a field without a name") }
        guard (1...536_870_911).contains(field.number), !(19_000...19_999).contains(field.number) else {
            throw DynamicProtoError(.invalidDescriptor, "\(path) has the invalid field number \(field.number)")
        }
        guard field.extendee.isEmpty else {
            throw DynamicProtoError(.unsupported, "\(path) is an extension field, which DynamicProto does not support yet")
        }
        let kind = try kind(of: field, path: path, scope: message.fullName)
        let isRepeated = field.label == .repeated
        if field.label == .required, message.syntax == .proto3 {
            throw DynamicProtoError(.invalidDescriptor, "\(path) is required, which proto3 does not allow")
        }
        var mapEntry: MessageID?
        if isRepeated, case .message(let entry) = kind, pending[entry.index].proto.options.mapEntry {
            mapEntry = entry
        }
        let packed: Bool
        if !isRepeated || !kind.isPackable {
            packed = false
        } else if field.options.hasPacked {
            packed = field.options.packed
        } else {
            packed = message.syntax == .proto3
        }
        let hasPresence: Bool
        switch kind {
        case _ where isRepeated: hasPresence = false
        case .message, .group: hasPresence = true
        default: hasPresence = message.syntax == .proto2 || oneof != nil || field.proto3Optional
        }
        let defaultValue = field.hasDefaultValue ? try Self.parseDefault(field.defaultValue, kind: kind, path: path, enums: enums) : nil
        return FieldDescriptor(
            name: field.name, jsonName: field.hasJsonName ? field.jsonName : PoolNaming.jsonName(field.name), number: field.number,
            kind: kind, isRepeated: isRepeated, isRequired: field.label == .required, isPacked: packed, hasPresence: hasPresence, oneofIndex: oneof, mapEntry: mapEntry,
            defaultValue: defaultValue)
    }

    private func kind(of field: Google_Protobuf_FieldDescriptorProto, path: String, scope: String) throws(DynamicProtoError) -> FieldKind {
        switch field.type {
        case .double: return .double
        case .float: return .float
        case .int64: return .int64
        case .uint64: return .uint64
        case .int32: return .int32
        case .fixed64: return .fixed64
        case .fixed32: return .fixed32
        case .bool: return .bool
        case .string: return .string
        case .bytes: return .bytes
        case .uint32: return .uint32
        case .sfixed32: return .sfixed32
        case .sfixed64: return .sfixed64
        case .sint32: return .sint32
        case .sint64: return .sint64
        case .message, .group, .enum:
            break
        }
        guard !field.typeName.isEmpty else { throw DynamicProtoError(.invalidDescriptor, "\(path) has no type") }
        guard let resolved = lookup(field.typeName, from: scope) else {
            throw DynamicProtoError(.unknownType, "\(path) has type \(field.typeName), which no file in the set defines")
        }
        switch (field.hasType ? field.type : nil, resolved) {
        case (.group?, .message(let id)): return .group(id)
        case (.message?, .message), (nil, .message), (.enum?, .enumeration), (nil, .enumeration): return resolved
        default:
            throw DynamicProtoError(.invalidDescriptor, "\(path) is declared as \(field.type) but \(field.typeName) is not one")
        }
    }

    private func resolve(_ service: Google_Protobuf_ServiceDescriptorProto, file: Google_Protobuf_FileDescriptorProto)
        throws(DynamicProtoError) -> ServiceDescriptor
    {
        let fullName = file.package.isEmpty ? service.name : file.package + "." + service.name
        var methods: [MethodDescriptor] = []
        var seen = Set<String>()
        for method in service.method {
            let path = "\(fullName).\(method.name)"
            guard !method.name.isEmpty else { throw DynamicProtoError(.invalidDescriptor, "\(fullName) has a method without a name") }
            guard seen.insert(method.name).inserted else { throw DynamicProtoError(.duplicateName, "\(fullName) declares \(method.name) twice") }
            guard case .message(let input)? = lookup(method.inputType, from: fullName) else {
                throw DynamicProtoError(.unknownType, "\(path) takes \(method.inputType), which is not a message type in the set")
            }
            guard case .message(let output)? = lookup(method.outputType, from: fullName) else {
                throw DynamicProtoError(.unknownType, "\(path) returns \(method.outputType), which is not a message type in the set")
            }
            methods.append(
                MethodDescriptor(
                    name: method.name, methodPath: MethodPath(service: fullName, method: method.name), input: input, output: output,
                    clientStreaming: method.clientStreaming, serverStreaming: method.serverStreaming,
                    idempotencyLevel: IdempotencyLevel(method.options.idempotencyLevel)))
        }
        return ServiceDescriptor(fullName: fullName, name: service.name, fileName: file.name, methods: methods)
    }

    /// Parses a proto2 `[default = …]` as protoc writes it into the descriptor.
    static func parseDefault(_ text: String, kind: FieldKind, path: String, enums: [EnumDescriptor]) throws(DynamicProtoError)
        -> DynamicValue
    {
        func fail() -> DynamicProtoError { DynamicProtoError(.invalidDescriptor, "\(path) has the invalid default \"\(text)\"") }
        func floating(_ text: String) -> Double? {
            switch text {
            case "inf": .infinity
            case "-inf": -.infinity
            case "nan": .nan
            default: Double(text)
            }
        }
        switch kind {
        case .int32, .sint32, .sfixed32: guard let v = Int32(text) else { throw fail() }; return .int32(v)
        case .int64, .sint64, .sfixed64: guard let v = Int64(text) else { throw fail() }; return .int64(v)
        case .uint32, .fixed32: guard let v = UInt32(text) else { throw fail() }; return .uint32(v)
        case .uint64, .fixed64: guard let v = UInt64(text) else { throw fail() }; return .uint64(v)
        case .float: guard let v = floating(text) else { throw fail() }; return .float(Float(v))
        case .double: guard let v = floating(text) else { throw fail() }; return .double(v)
        case .bool:
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw fail()
            }
        case .string: return .string(text)
        case .bytes: guard let bytes = unescapeC(text) else { throw fail() }; return .bytes(bytes)
        case .enumeration(let id):
            guard let number = enums[id.index].number(of: text) else { throw fail() }
            return .enumeration(number)
        case .message, .group: throw fail()
        }
    }

    /// protoc writes bytes defaults C-escaped (`\001`, `\n`, `\\`, …).
    static func unescapeC(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "\\") else { bytes.append(byte); continue }
            guard let next = input.popFirst() else { return nil }
            switch next {
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "r"): bytes.append(13)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "?"): bytes.append(next)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                for _ in 0..<2 {
                    guard let digit = input.first, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit) else { break }
                    value = value * 8 + Int(digit - UInt8(ascii: "0"))
                    input.removeFirst()
                }
                guard value < 256 else { return nil }
                bytes.append(UInt8(value))
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, let digit = input.first, let hex = Int(String(UnicodeScalar(digit)), radix: 16) {
                    value = value * 16 + hex
                    digits += 1
                    input.removeFirst()
                }
                guard digits > 0 else { return nil }
                bytes.append(UInt8(value))
            default: return nil
            }
        }
        return bytes
    }
}

extension IdempotencyLevel {
    init(_ level: Google_Protobuf_MethodOptions.IdempotencyLevel) {
        switch level {
        case .noSideEffects: self = .noSideEffects
        case .idempotent: self = .idempotent
        default: self = .unknown
        }
    }
}
