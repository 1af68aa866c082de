import SwiftProtobuf
import Testing
@testable import DynamicProto

@Suite(.timeLimit(.minutes(10))) struct DescribeTests {
    @Test func serviceAndMethod() {
        #expect(
            TestPool.pool.describe("dyn.test3.Things") == """
                dyn.test3.Things is a service:
                service Things {
                  rpc Get ( .dyn.test3.Everything ) returns ( .dyn.test3.Tree );
                  rpc Stream ( stream .dyn.test3.Tree ) returns ( stream .dyn.test3.Everything );
                }

                """)
        #expect(
            TestPool.pool.describe("dyn.test3.Things.Get")
                == "dyn.test3.Things.Get is a method:\nrpc Get ( .dyn.test3.Everything ) returns ( .dyn.test3.Tree );\n")
        #expect(TestPool.pool.describe("/dyn.test3.Things/Stream")?.hasPrefix("/dyn.test3.Things/Stream is a method") == true)
    }

    /// The standard `idempotency_level` method option is read and shown as .proto text has it.
    @Test func idempotencyLevelsAreReadAndDescribed() throws {
        var set = TestPool.set
        let file = try #require(set.file.firstIndex { $0.service.contains { $0.name == "Things" } })
        let service = try #require(set.file[file].service.firstIndex { $0.name == "Things" })
        set.file[file].service[service].method[0].options.idempotencyLevel = .noSideEffects
        set.file[file].service[service].method[1].options.idempotencyLevel = .idempotent
        let pool = try DescriptorPool(set)
        let methods = try #require(pool.services.first { $0.name == "Things" }).methods
        #expect(methods.map(\.idempotencyLevel) == [.noSideEffects, .idempotent])
        #expect(TestPool.pool.services.first { $0.name == "Things" }?.methods.map(\.idempotencyLevel) == [.unknown, .unknown])
        #expect(
            pool.describe("dyn.test3.Things.Get")
                == "dyn.test3.Things.Get is a method:\nrpc Get ( .dyn.test3.Everything ) returns ( .dyn.test3.Tree ) { option idempotency_level = NO_SIDE_EFFECTS; }\n")
    }

    @Test func messagesWithLabelsMapsOneofsAndDefaults() {
        #expect(
            TestPool.pool.describe("dyn.test2.Legacy") == """
                dyn.test2.Legacy is a message:
                message Legacy {
                  optional int32 o_int32 = 1 [default = 42];
                  optional string o_string = 2 [default = "hello"];
                  optional bool o_bool = 3 [default = true];
                  optional double o_double = 4 [default = -1.5];
                  optional bytes o_bytes = 5 [default = "\\1\\2"];
                  optional .dyn.test2.Legacy.Kind o_kind = 6 [default = SECOND];
                  optional .dyn.common.Point o_point = 7;
                  repeated int32 r_int32 = 8;
                  repeated sint32 r_sint32_packed = 9 [packed = true];
                  repeated .dyn.test2.Legacy.Kind r_kind = 10;
                  map<string, int32> m_string_int32 = 11;
                  oneof pick {
                    uint32 pick_uint32 = 12;
                    string pick_string = 13;
                  }
                  optional float o_float = 14;
                  optional uint64 o_uint64 = 15;
                }

                """)
        let everything = TestPool.pool.describe("dyn.test3.Everything") ?? ""
        #expect(everything.contains("  repeated uint64 r_uint64_unpacked = 37 [packed = false];\n"))
        #expect(everything.contains("  optional int32 p_int32 = 71;\n"))
        #expect(everything.contains("  .google.protobuf.Timestamp t_timestamp = 81;\n"))
        #expect(everything.contains("  map<int64, .dyn.test3.Everything.Nested> m_int64_nested = 52;\n"))
    }

    @Test func enumsAndUnknownSymbols() {
        #expect(
            TestPool.pool.describe("dyn.common.Color")
                == "dyn.common.Color is an enum:\nenum Color {\n  COLOR_UNSPECIFIED = 0;\n  RED = 1;\n  GREEN = 2;\n  BLUE = -3;\n}\n")
        #expect(TestPool.pool.describe("dyn.nothing.Here") == nil)
    }
}
