import Foundation
import GeneratedTestProtos
import SwiftProtobuf
@testable import DynamicProto

/// The descriptor set of Protos/dyn/*.proto (made by scripts/generate-protos.sh), and helpers.
enum TestPool {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static let set: Google_Protobuf_FileDescriptorSet = {
        do {
            let bytes = try Data(contentsOf: directory.appendingPathComponent("Protos/test.pb"))
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        } catch {
            fatalError("Protos/test.pb is missing or unreadable (run scripts/generate-protos.sh): \(error)")
        }
    }()

    static let pool: DescriptorPool = {
        do {
            return try DescriptorPool(set)
        } catch {
            fatalError("the test descriptor set does not load: \(error)")
        }
    }()

    static func type(_ name: String) -> MessageID {
        guard let id = pool.message(named: name) else { fatalError("no message \(name) in the test set") }
        return id
    }

    /// swift-protobuf writes an Any as JSON only if the packed type is registered.
    static let registerAnyTypes: Void = {
        let types: [any SwiftProtobuf.Message.Type] = [
            Dyn_Common_Point.self, Dyn_Test3_Everything.self, Dyn_Test3_Everything.Nested.self, Dyn_Test3_Tree.self,
            Dyn_Test2_Legacy.self, Complex_Complex.self, Complex_ComplexRequest.self, Complex_ComplexResponse.self,
            Complex_ComplexLog.self,
        ]
        for type in types { _ = Google_Protobuf_Any.register(messageType: type) }
    }()

    static let deterministic: BinaryEncodingOptions = {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return options
    }()
}
