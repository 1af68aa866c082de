/// Readable text for services, methods, messages and enums, in the style of `grpcurl describe`.
extension DescriptorPool {
    /// Describes the service, method (`pkg.Service.method` or `/pkg.Service/method`), message or
    /// enum with this full name; nil if the set has no such symbol.
    public func describe(_ symbol: String) -> String? {
        let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        if let service = services.first(where: { $0.fullName == name }) {
            return "\(service.fullName) is a service:\n" + describe(service)
        }
        if let method = method(path: name.hasPrefix("/") ? name : name.replacingLastDot(with: "/")) {
            return "\(name) is a method:\n" + describe(method) + "\n"
        }
        if let message = message(named: name) {
            return "\(name) is a message:\n" + describe(message)
        }
        if let enumType = enumType(named: name) {
            return "\(name) is an enum:\n" + describe(enumType)
        }
        return nil
    }

    public func describe(_ service: ServiceDescriptor) -> String {
        var text = "service \(service.name) {\n"
        for method in service.methods { text += "  " + describe(method) + "\n" }
        return text + "}\n"
    }

    public func describe(_ method: MethodDescriptor) -> String {
        let input = (method.clientStreaming ? "stream " : "") + "." + messages[method.input.index].fullName
        let output = (method.serverStreaming ? "stream " : "") + "." + messages[method.output.index].fullName
        guard let level = method.idempotencyLevel.protoName else { return "rpc \(method.name) ( \(input) ) returns ( \(output) );" }
        return "rpc \(method.name) ( \(input) ) returns ( \(output) ) { option idempotency_level = \(level); }"
    }

    public func describe(_ id: MessageID) -> String {
        let message = messages[id.index]
        var text = "message \(message.name) {\n"
        var oneofsDone = Set<Int>()
        for field in message.fields {
            if let oneof = field.oneofIndex {
                guard oneofsDone.insert(oneof).inserted else { continue }
                text += "  oneof \(message.oneofs[oneof]) {\n"
                for member in message.fields where member.oneofIndex == oneof {
                    text += "    " + declaration(member, syntax: message.syntax) + "\n"
                }
                text += "  }\n"
            } else {
                text += "  " + declaration(field, syntax: message.syntax) + "\n"
            }
        }
        return text + "}\n"
    }

    public func describe(_ id: EnumID) -> String {
        let enumType = enums[id.index]
        var text = "enum \(enumType.name) {\n"
        for value in enumType.values { text += "  \(value.name) = \(value.number);\n" }
        return text + "}\n"
    }

    private func declaration(_ field: FieldDescriptor, syntax: Syntax) -> String {
        if let entry = field.mapEntry {
            let (key, value) = mapFields(entry)
            return "map<\(typeName(key.kind)), \(typeName(value.kind))> \(field.name) = \(field.number);"
        }
        let label: String
        if field.isRepeated {
            label = "repeated "
        } else if field.isRequired {
            label = "required "
        } else if field.oneofIndex == nil, field.hasPresence, syntax == .proto2 || !holdsMessages(field) {
            label = "optional "
        } else {
            label = ""
        }
        var options: [String] = []
        if let value = field.defaultValue { options.append("default = \(defaultText(value, kind: field.kind))") }
        if field.isRepeated, field.kind.isPackable, field.isPacked != (syntax == .proto3) {
            options.append("packed = \(field.isPacked)")
        }
        let suffix = options.isEmpty ? "" : " [" + options.joined(separator: ", ") + "]"
        return "\(label)\(typeName(field.kind)) \(field.name) = \(field.number)\(suffix);"
    }

    private func typeName(_ kind: FieldKind) -> String {
        switch kind {
        case .enumeration(let id): "." + enums[id.index].fullName
        case .message(let id), .group(let id): "." + messages[id.index].fullName
        default: "\(kind)"
        }
    }

    private func defaultText(_ value: DynamicValue, kind: FieldKind) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .bytes(let bytes): "\"" + bytes.map { "\\" + String($0, radix: 8) }.joined() + "\""
        case .enumeration(let number):
            if case .enumeration(let id) = kind { enums[id.index].name(of: number) ?? "\(number)" } else { "\(number)" }
        case .int32(let v): "\(v)"
        case .int64(let v): "\(v)"
        case .uint32(let v): "\(v)"
        case .uint64(let v): "\(v)"
        case .float(let v): "\(v)"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .message: ""
        }
    }
}

extension String {
    /// "pkg.Service.method" → "pkg.Service/method".
    fileprivate func replacingLastDot(with separator: String) -> String {
        guard let dot = lastIndex(of: ".") else { return self }
        return self[..<dot] + separator + self[index(after: dot)...]
    }
}
