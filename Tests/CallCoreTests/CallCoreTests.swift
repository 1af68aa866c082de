import CallCore
import Foundation
import Logging
import ModuleRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WasmRPCCore
import WasmRPCProto

/// The call pipeline without a socket or a wire protocol: a core over an in-memory store, called
/// as a front door calls it.
@Suite(.timeLimit(.minutes(5))) struct CallCoreTests {
    @Test func theAccessPolicyFollowsTheOperation() {
        let writes = AccessPolicy(token: "s3cret")
        let reads = AccessPolicy(token: "s3cret", protectReads: true)
        let all: [CallOperation] = [.add, .get, .list, .invoke, .call("complex.Calculator/mul"), .log, .state, .reflection, .health, .page]
        for operation in all {
            #expect(AccessPolicy.open.isProtected(operation) == false)
            #expect(writes.isProtected(operation) == (operation == .add), "\(operation)")
            #expect(reads.isProtected(operation) == (operation != .health && operation != .page), "\(operation)")
        }
        // An uploaded method that borrows health's name is a call like any other, not a health check.
        #expect(reads.isProtected(.call("grpc.health.v1.Health/Check")))
        #expect(throws: CallError.self) { try reads.check(.get, authorization: nil) }
        #expect(throws: CallError.self) { try reads.check(.get, authorization: "Bearer wrong") }
        #expect(throws: CallError.self) { try reads.check(.get, authorization: "s3cret") }
        #expect(throws: Never.self) { try reads.check(.get, authorization: "Bearer s3cret") }
        #expect(throws: Never.self) { try reads.check(.health, authorization: nil) }
    }

    @Test func beginDecidesFromTheHeadersAlone() async throws {
        try await withCallCore(policy: AccessPolicy(token: "s3cret")) { core in
            let given = core.begin(.get, CallHeaders(requestID: "client-id-1"), peer: "p")
            #expect(given.requestID == "client-id-1" && given.refusal == nil && given.deadline == nil)
            let made = core.begin(.get, CallHeaders(requestID: "has space"), peer: "p")
            #expect(made.requestID.utf8.count == 16 && made.requestID.allSatisfy(\.isHexDigit))
            #expect(core.begin(.add, CallHeaders(), peer: "p").refusal?.status == .unauthenticated)
            let pinned = core.begin(.call("a.B/c"), CallHeaders(moduleIDs: ["nope"]), peer: "p")
            #expect(pinned.refusal?.status == .invalidArgument && pinned.refusal?.message.contains("wasmrpc-module-id") == true)
            #expect(core.begin(.invoke, CallHeaders(idempotencyKeys: ["k1", "k2"]), peer: "p").refusal?.status == .invalidArgument)
            #expect(core.begin(.invoke, CallHeaders(idempotencyKeys: ["two words"]), peer: "p").refusal?.status == .invalidArgument)
            #expect(core.begin(.invoke, CallHeaders(idempotencyKeys: ["k1"]), peer: "p").idempotencyKey == IdempotencyKey("k1"))
            let timed = core.begin(.invoke, CallHeaders(timeout: .seconds(5)), peer: "p")
            #expect(timed.deadline == timed.started + .seconds(5))
        }
    }

    @Test func aMethodPathRunsOnItsNewestOrPinnedModule() async throws {
        try await withCallCore { core in
            let added = try await core.add(.with { $0.wasm = Data(complexWasm); $0.descriptor = complexDescriptor })
            let id = try #require(ModuleID(hex: added.metadata.id))
            let call = core.begin(.call("complex.Calculator/mul"), CallHeaders(), peer: "p")
            let target = try core.target(method: "complex.Calculator/mul", for: call)
            #expect(target.module == id)
            let input = try complexRequest((1, 2), (3, 4)).value
            var invocation = try await core.run(call, target, input: Array(input))
            #expect(try complexResult(Google_Protobuf_Any.with { $0.typeURL = invocation.typeURL; $0.value = Data(invocation.output) }) == (-5, 10))
            for _ in 0..<3 { invocation = try await core.run(call, target, input: Array(input)) }
            // Loaded, and its calls were short: it runs at once.
            let ready = try #require(core.ready(target))
            let now = try #require(core.runNow(call, target, ready: ready, input: Array(input)))
            #expect(try now.get().output == invocation.output)
            let scrape = String(decoding: await core.metrics.scrape(core.runtime), as: UTF8.self)
            #expect(scrape.contains("wasmrpc_invocations_total{module=\"\(id)\",function=\"complex.Calculator/mul\",code=\"ok\"} 5"))
            #expect(throws: CallError.self) { try core.target(method: "complex.Calculator/nothing", for: call) }
            let other = ModuleID(of: [1, 2, 3])
            let wrongPin = core.begin(.call("complex.Calculator/mul"), CallHeaders(moduleIDs: [other.hex]), peer: "p")
            do throws(CallError) {
                _ = try core.target(method: "complex.Calculator/mul", for: wrongPin)
                Issue.record("a pin to a module that is not stored was followed")
            } catch {
                #expect(error.status == .notFound)
            }
        }
    }

    @Test func failuresAreCountedWithoutMadeUpLabels() async throws {
        try await withCallCore { core in
            let call = core.begin(.invoke, CallHeaders(), peer: "p")
            let made = CallTarget(module: ModuleID(of: [9]), function: "made.Up/name")
            do throws(CallError) {
                _ = try await core.run(call, made, input: [])
                Issue.record("a call of a module that is not stored answered")
            } catch {
                #expect(error.status == .notFound)
            }
            let scrape = String(decoding: await core.metrics.scrape(core.runtime), as: UTF8.self)
            #expect(scrape.contains("wasmrpc_invocations_total{module=\"\",function=\"\",code=\"notFound\"} 1"))
            #expect(!scrape.contains("made.Up"))
        }
    }

    @Test(arguments: ["grpc.health.v1", "wasmrpc.v1", "grpc.reflection.v1"])
    func addRefusesTheServersOwnPackages(package: String) async throws {
        try await withCallCore { core in
            let set = descriptorSet(package: package, messages: ["Text": ["text"]], services: [("Health", [("Check", "Text", "Text")])])
            do throws(CallError) {
                _ = try await core.add(.with { $0.wasm = Data(echoWasm); $0.descriptor = set })
                Issue.record("a module defining a service in \(package) was stored")
            } catch {
                #expect(error.status == .invalidArgument && error.message.contains("\(package).Health"))
            }
            let page = try await core.list(.init())
            #expect(page.modules.isEmpty)
        }
    }

    @Test func finishedWritesOneLineWithTheRequestID() async throws {
        let log = CapturedLog()
        var logger = log.logger
        logger.logLevel = .debug
        try await withCallCore(logger: logger) { core in
            let call = core.begin(.list, CallHeaders(requestID: "line-1"), peer: "peer-1")
            core.finished(call, method: "wasmrpc.v1.Registry/List", error: nil)
            core.finished(call, route: "GET /v1/modules", status: 404, error: CallError(.notFound, "gone"))
            let entries = log.entries.withLock { $0 }
            #expect(entries.count == 2)
            #expect(entries.allSatisfy { $0.metadata["request-id"] == "line-1" })
            #expect(entries[1].metadata["code"] == "notFound" && entries[1].metadata["status"] == "404")
        }
    }

    @Test func statusesAreGRPCsCodesAndNames() {
        #expect(CallStatus.allCases.map(\.rawValue) == Array(0...16))
        #expect(CallStatus.unauthenticated.name == "UNAUTHENTICATED" && CallStatus.internalError.name == "INTERNAL")
        #expect(CallStatus.notFound.description == "notFound")
        #expect(CallError(for: ModuleRuntimeError(.conflict, "x")).status == .aborted)
        #expect(CallError(for: ModuleRuntimeError(.outcomeUnknown, "x")).status == .unknown)
        #expect(CallError(for: CancellationError()).status == .cancelled)
        let long = CallError(for: ModuleRuntimeError(.invalidArgument, String(repeating: "x", count: 10_000)))
        #expect(long.message.utf8.count <= CallError.maxMessageLength + 3)
    }

    @Test func requestLimitsArePerOperation() {
        let limits = RequestLimits(add: 100 << 20, call: 1 << 20)
        #expect(limits.bytes(for: .add) == 100 << 20)
        #expect(limits.bytes(for: .call("a.B/c")) == 1 << 20)
        #expect(limits.bytes(for: .invoke) == (1 << 20) + RequestLimits.envelopeBytes)
        #expect(limits.bytes(for: .get) == limits.query && limits.query < limits.bytes(for: .invoke))
    }
}
