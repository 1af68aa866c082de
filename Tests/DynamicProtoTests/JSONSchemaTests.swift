import Foundation
import Testing
@testable import DynamicProto

/// JSON Schemas of messages' proto3 JSON forms (`DescriptorPool.jsonSchemas`).
struct JSONSchemaTests {
    private func json(_ schema: JSONSchema) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try #require(JSONSerialization.jsonObject(with: try encoder.encode(schema)) as? [String: Any])
    }

    @Test func scalarsRepeatedMapsEnumsAndWellKnownTypes() throws {
        let schemas = TestPool.pool.jsonSchemas(of: [TestPool.type("dyn.test3.Everything")])
        let everything = try json(try #require(schemas["dyn.test3.Everything"]))
        let properties = try #require(everything["properties"] as? [String: [String: Any]])
        #expect(everything["type"] as? String == "object")
        #expect(properties["fInt32"]?["type"] as? String == "integer")
        // 64-bit integers are strings, as the canonical writer writes them.
        #expect(properties["fInt64"]?["type"] as? String == "string" && properties["fUint64"]?["format"] as? String == "uint64")
        #expect(properties["fBytes"]?["format"] as? String == "byte")
        #expect((properties["fColor"]?["enum"] as? [String])?.isEmpty == false)
        #expect(properties["fPoint"]?["$ref"] as? String == "#/schemas/dyn.common.Point")
        #expect(properties["rInt32"]?["type"] as? String == "array")
        #expect((properties["rNested"]?["items"] as? [String: Any])?["$ref"] as? String == "#/schemas/dyn.test3.Everything.Nested")
        #expect(properties["mInt64Nested"]?["type"] as? String == "object")
        #expect((properties["mInt64Nested"]?["additionalProperties"] as? [String: Any])?["$ref"] as? String == "#/schemas/dyn.test3.Everything.Nested")
        #expect(properties["tTimestamp"]?["format"] as? String == "date-time")
        #expect(properties["wInt64"]?["type"] as? String == "string")
        // Every type a $ref names is in the answer; map entries are not.
        #expect(schemas["dyn.common.Point"] != nil && schemas["dyn.test3.Everything.Nested"] != nil)
        #expect(!schemas.keys.contains { $0.hasSuffix("Entry") })
        #expect(schemas["google.protobuf.Timestamp"] == nil)
    }
}
