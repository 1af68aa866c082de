import GeneratedTestProtos
import SwiftProtobuf
import Testing
@testable import DynamicProto

@Suite(.timeLimit(.minutes(10))) struct DescriptorPoolTests {
    @Test func servicesAndMethodsAreListedWithTheirPathsAndTypes() throws {
        let pool = TestPool.pool
        #expect(pool.services.map(\.fullName).sorted() == ["complex.Calculator", "dyn.test3.Things"])
        let get = try #require(pool.method(path: "/dyn.test3.Things/Get"))
        #expect(pool[get.input].fullName == "dyn.test3.Everything")
        #expect(pool[get.output].fullName == "dyn.test3.Tree")
        #expect(!get.clientStreaming && !get.serverStreaming)
        let stream = try #require(pool.method(path: "/dyn.test3.Things/Stream"))
        #expect(stream.clientStreaming && stream.serverStreaming)
    }

    @Test func typesResolveAcrossFilesNestingAndWellKnownTypes() throws {
        let pool = TestPool.pool
        let everything = pool[TestPool.type("dyn.test3.Everything")]
        #expect(everything.fields.map(\.number) == everything.fields.map(\.number).sorted())
        let point = try #require(everything.field(named: "f_point"))
        guard case .message(let pointType) = point.kind else { Issue.record("f_point is not a message"); return }
        #expect(pool[pointType].fullName == "dyn.common.Point")
        let timestamp = try #require(everything.field(named: "tTimestamp"))  // by JSON name
        guard case .message(let timestampType) = timestamp.kind else { Issue.record("t_timestamp is not a message"); return }
        #expect(pool[timestampType].fullName == "google.protobuf.Timestamp")
        let nested = try #require(pool.message(named: ".dyn.test3.Everything.Nested"))
        guard case .message(let treeType)? = pool[nested].field(named: "tree")?.kind else { Issue.record("tree"); return }
        #expect(pool[treeType].fullName == "dyn.test3.Tree")
    }

    @Test func fieldFlagsFollowTheSyntax() throws {
        let everything = TestPool.pool[TestPool.type("dyn.test3.Everything")]
        #expect(everything.field(named: "r_int32")?.isPacked == true)
        #expect(everything.field(named: "r_uint64_unpacked")?.isPacked == false)
        #expect(everything.field(named: "f_int32")?.hasPresence == false)
        #expect(everything.field(named: "p_int32")?.hasPresence == true)
        #expect(everything.field(named: "p_int32")?.oneofIndex == nil)  // synthetic oneof
        #expect(everything.field(named: "o_string")?.oneofIndex == 0)
        #expect(everything.oneofs == ["choice"])
        #expect(everything.field(named: "m_int32_string")?.mapEntry != nil)
        #expect(everything.field(named: "f_int32")?.jsonName == "fInt32")

        let legacy = TestPool.pool[TestPool.type("dyn.test2.Legacy")]
        #expect(legacy.field(named: "r_int32")?.isPacked == false)
        #expect(legacy.field(named: "r_sint32_packed")?.isPacked == true)
        #expect(legacy.field(named: "o_float")?.hasPresence == true)
        #expect(legacy.field(named: "o_int32")?.defaultValue == .int32(42))
        #expect(legacy.field(named: "o_bytes")?.defaultValue == .bytes([1, 2]))
        #expect(legacy.field(named: "o_kind")?.defaultValue == .enumeration(2))
        #expect(legacy.field(named: "o_double")?.defaultValue == .double(-1.5))
    }

    private func error(_ change: (inout Google_Protobuf_FileDescriptorSet) -> Void) -> DynamicProtoError? {
        var set = TestPool.set
        change(&set)
        do {
            _ = try DescriptorPool(set)
            return nil
        } catch {
            return error
        }
    }

    private func fileIndex(_ name: String) -> Int {
        TestPool.set.file.firstIndex { $0.name == name } ?? -1
    }

    @Test func aMissingImportIsNamed() {
        let error = error { $0.file.removeAll { $0.name == "dyn/common.proto" } }
        #expect(error?.code == .missingDependency)
        #expect(error?.message.contains("dyn/common.proto") == true)
    }

    @Test func importCyclesAreRefusedAndNamed() {
        // A file importing itself, as protoc never writes it.
        let common = fileIndex("dyn/common.proto")
        let selfImport = error { $0.file[common].dependency.append("dyn/common.proto") }
        #expect(selfImport?.code == .invalidDescriptor)
        #expect(selfImport?.message.contains("dyn/common.proto → dyn/common.proto") == true)
        // Two files importing each other.
        let mutual = error { set in
            let importer = set.file.firstIndex { $0.dependency.contains("dyn/common.proto") } ?? -1
            set.file[common].dependency.append(set.file[importer].name)
        }
        #expect(mutual?.code == .invalidDescriptor)
        #expect(mutual?.message.contains("import cycle") == true)
    }

    @Test func anUnknownTypeIsNamed() {
        let error = error { set in
            let file = fileIndex("dyn/test3.proto")
            set.file[file].messageType[0].field[16].typeName = ".dyn.test3.Nowhere"
        }
        #expect(error?.code == .unknownType)
        #expect(error?.message.contains("Nowhere") == true)
    }

    @Test func duplicatesAreNamed() {
        let twiceFile = error { $0.file.append($0.file[0]) }
        #expect(twiceFile?.code == .duplicateName)
        let twiceType = error { set in
            let file = fileIndex("dyn/test3.proto")
            set.file[file].messageType.append(set.file[file].messageType[1])
        }
        #expect(twiceType?.code == .duplicateName)
        #expect(twiceType?.message.contains("dyn.test3.Tree") == true)
        let twiceService = error { set in
            let file = fileIndex("dyn/test3.proto")
            set.file[file].service.append(set.file[file].service[0])
        }
        #expect(twiceService?.code == .duplicateName)
        #expect(twiceService?.message.contains("dyn.test3.Things") == true)
        let twiceNumber = error { set in
            let file = fileIndex("dyn/test3.proto")
            set.file[file].messageType[0].field[1].number = 1
        }
        #expect(twiceNumber?.code == .duplicateName)
    }

    @Test func malformedDescriptorsAreRefused() {
        #expect(throws: DynamicProtoError.self) { try DescriptorPool(serializedFileDescriptorSet: [0xFF, 0xFF, 0xFF]) }
        let badNumber = error { $0.file[fileIndex("dyn/common.proto")].messageType[0].field[0].number = 19_500 }
        #expect(badNumber?.code == .invalidDescriptor)
        let editions = error { $0.file[fileIndex("dyn/common.proto")].syntax = "editions" }
        #expect(editions?.code == .unsupported)
        let noName = error { $0.file[0].name = "" }
        #expect(noName?.code == .invalidDescriptor)
        let badDefault = error { $0.file[fileIndex("dyn/test2.proto")].messageType[0].field[0].defaultValue = "forty-two" }
        #expect(badDefault?.code == .invalidDescriptor)
    }
}
