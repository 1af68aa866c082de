/// A JSON Schema of a message type's proto3 JSON form, for people and tools that read a module's
/// messages without protobuf: `type`, `format`, `properties`, `items`, `additionalProperties`,
/// `enum` and `$ref` (to `#/schemas/<full name>`, a sibling schema in the same answer).
/// What a proto3 JSON reader accepts besides (numbers as strings, `.proto` field names, `null`)
/// is not spelled out; 64-bit integers are strings, as the canonical writer writes them.
public final class JSONSchema: Encodable, Sendable {
    public let type: String?
    public let format: String?
    public let reference: String?
    public let description: String?
    public let properties: [String: JSONSchema]?
    public let items: JSONSchema?
    public let additionalProperties: JSONSchema?
    public let enumValues: [String]?

    init(
        type: String? = nil, format: String? = nil, reference: String? = nil, description: String? = nil,
        properties: [String: JSONSchema]? = nil, items: JSONSchema? = nil, additionalProperties: JSONSchema? = nil,
        enumValues: [String]? = nil
    ) {
        self.type = type
        self.format = format
        self.reference = reference
        self.description = description
        self.properties = properties
        self.items = items
        self.additionalProperties = additionalProperties
        self.enumValues = enumValues
    }

    enum CodingKeys: String, CodingKey {
        case type, format, description, properties, items, additionalProperties
        case reference = "$ref"
        case enumValues = "enum"
    }

    /// The prefix of `$ref`s: the referenced schema is the member of that name in `schemas`.
    public static let referencePrefix = "#/schemas/"
}

extension DescriptorPool {
    /// Schemas of `roots` and of every message type their fields reach (map entries and the
    /// well-known types with a special JSON form are written inline), by full name.
    public func jsonSchemas(of roots: [MessageID]) -> [String: JSONSchema] {
        var schemas: [String: JSONSchema] = [:]
        var pending = roots
        while let id = pending.popLast() {
            let descriptor = self[id]
            guard schemas[descriptor.fullName] == nil else { continue }
            var properties: [String: JSONSchema] = [:]
            for field in descriptor.fields {
                properties[field.jsonName] = fieldSchema(field, reaching: &pending)
            }
            schemas[descriptor.fullName] = JSONSchema(
                type: "object", description: "message \(descriptor.fullName)", properties: properties)
        }
        return schemas
    }

    private func fieldSchema(_ field: FieldDescriptor, reaching pending: inout [MessageID]) -> JSONSchema {
        if let entry = field.mapEntry {
            let (_, value) = mapFields(entry)
            return JSONSchema(type: "object", additionalProperties: kindSchema(value.kind, reaching: &pending))
        }
        let single = kindSchema(field.kind, reaching: &pending)
        return field.isRepeated ? JSONSchema(type: "array", items: single) : single
    }

    private func kindSchema(_ kind: FieldKind, reaching pending: inout [MessageID]) -> JSONSchema {
        switch kind {
        case .double: return JSONSchema(type: "number", format: "double")
        case .float: return JSONSchema(type: "number", format: "float")
        case .int32, .sint32, .sfixed32: return JSONSchema(type: "integer", format: "int32")
        case .uint32, .fixed32: return JSONSchema(type: "integer", format: "uint32")
        case .int64, .sint64, .sfixed64: return JSONSchema(type: "string", format: "int64")
        case .uint64, .fixed64: return JSONSchema(type: "string", format: "uint64")
        case .bool: return JSONSchema(type: "boolean")
        case .string: return JSONSchema(type: "string")
        case .bytes: return JSONSchema(type: "string", format: "byte")
        case .enumeration(let id): return JSONSchema(type: "string", enumValues: self[id].values.map(\.name))
        case .message(let id), .group(let id):
            if let special = Self.wellKnownSchema(self[id].fullName) { return special }
            pending.append(id)
            return JSONSchema(reference: JSONSchema.referencePrefix + self[id].fullName)
        }
    }

    /// The schema of a well-known type whose JSON form is not an object of its fields.
    private static func wellKnownSchema(_ fullName: String) -> JSONSchema? {
        switch fullName {
        case "google.protobuf.Timestamp": JSONSchema(type: "string", format: "date-time")
        case "google.protobuf.Duration": JSONSchema(type: "string", format: "duration", description: "seconds with an s, e.g. 1.5s")
        case "google.protobuf.FieldMask": JSONSchema(type: "string", description: "comma-separated lowerCamelCase paths")
        case "google.protobuf.Struct": JSONSchema(type: "object")
        case "google.protobuf.ListValue": JSONSchema(type: "array", items: JSONSchema())
        case "google.protobuf.Value": JSONSchema(description: "any JSON value")
        case "google.protobuf.Any": JSONSchema(type: "object", description: "@type names the message; its fields follow")
        case "google.protobuf.DoubleValue", "google.protobuf.FloatValue": JSONSchema(type: "number")
        case "google.protobuf.Int64Value": JSONSchema(type: "string", format: "int64")
        case "google.protobuf.UInt64Value": JSONSchema(type: "string", format: "uint64")
        case "google.protobuf.Int32Value", "google.protobuf.UInt32Value": JSONSchema(type: "integer")
        case "google.protobuf.BoolValue": JSONSchema(type: "boolean")
        case "google.protobuf.StringValue": JSONSchema(type: "string")
        case "google.protobuf.BytesValue": JSONSchema(type: "string", format: "byte")
        default: nil
        }
    }
}
