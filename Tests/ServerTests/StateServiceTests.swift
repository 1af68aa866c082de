import Client
import Foundation
import GeneratedTestProtos
import GRPCCore
import Server
import SwiftProtobuf
import Testing
import TestSupport
import TransparencyLog
import WasmRPCCore
import WasmRPCProto

/// The world state from a client's side: receipts on Invoke and native calls, the State service,
/// and verified transactions.
@Suite(.timeLimit(.minutes(10))) struct StateServiceTests {
    static let counterWasm = try! fixture("Guests/counter/counter.wasm")
    /// Guests get 60 s, far above what a call here needs on a loaded machine (the suite runs in
    /// parallel on 2 cores, and a module's first transaction translates its functions).
    static func patientGuests(_ configuration: inout WasmRPCServer.Configuration) { configuration.runtime.wapc.timeout = .seconds(60) }
    static let counterDescriptor = try! Google_Protobuf_FileDescriptorSet(serializedBytes: fixture("Guests/counter/counter.pb"))

    func add(_ client: WasmRPCClient, _ name: String, by: Int64 = 1) async throws -> Wasmrpc_V1_InvokeResponse {
        let id = try await counterID(client)
        return try await client.invokeResponse(
            id, function: "Add",
            parameters: .with { $0.value = try! Counter_AddRequest.with { $0.name = name; $0.by = by }.serializedData() })
    }

    func counterID(_ client: WasmRPCClient) async throws -> ModuleID {
        try #require(ModuleID(hex: try await client.add(wasm: Self.counterWasm, descriptorSet: Self.counterDescriptor).metadata.id))
    }

    @Test func invokeReceiptsVerifyAndTheStateServiceShowsTheLedger() async throws {
        let trust = LogTrust(directory: temporaryDirectory())
        defer { try? FileManager.default.removeItem(atPath: trust.directory) }
        try await withServer(configure: Self.patientGuests) { client in
            let id = try await counterID(client)
            var ids: [String] = []
            for n in 1...3 {
                let request: [UInt8] = try Counter_AddRequest.with { $0.name = "k\(n % 2)"; $0.by = Int64(n) }.serializedBytes()
                let response = try await client.invokeResponse(id, function: "Add", parameters: .with { $0.value = Data(request) })
                #expect(response.hasTransaction)
                let logged = try await client.verifyTransactionReceipt(
                    response.transaction, module: id, method: "/counter.Counter/Add", input: request, output: Array(response.response.result.value),
                    trust: trust)
                #expect(logged.entry.sequence == Int64(n) && logged.proven.leafIndex == Int64(n))
                ids.append(response.transaction.id)
                // A receipt for another call's input does not verify.
                await #expect(throws: ClientError.self) {
                    try await client.verifyTransactionReceipt(
                        response.transaction, module: id, method: nil, input: [], output: Array(response.response.result.value), trust: trust)
                }
            }
            // A query records nothing.
            let query = try await client.invokeResponse(
                id, function: "Get", parameters: .with { $0.value = try! Counter_Name.with { $0.name = "k1" }.serializedData() })
            let queried = try Counter_Value(serializedBytes: query.response.result.value).value
            #expect(!query.hasTransaction && queried == 4)

            let value = try await client.state.get(.with { $0.moduleID = id.hex; $0.key = Data("counter/k1".utf8) })
            #expect(value.found && value.value == Data("4".utf8))
            let missing = try await client.state.get(.with { $0.moduleID = id.hex; $0.key = Data("counter/none".utf8) })
            #expect(!missing.found)
            let page = try await client.state.range(.with { $0.moduleID = id.hex; $0.pageSize = 1 })
            #expect(page.entries.map { String(decoding: $0.key, as: UTF8.self) } == ["counter/k0"] && page.more)
            let rest = try await client.state.range(.with { $0.moduleID = id.hex; $0.startKey = page.entries[0].key + Data([0]) })
            #expect(rest.entries.map { String(decoding: $0.key, as: UTF8.self) } == ["counter/k1"] && !rest.more)

            let first = try await client.state.listTransactions(.with { $0.moduleID = id.hex; $0.pageSize = 2 })
            #expect(first.transactions.map(\.id) == Array(ids.prefix(2)) && first.more)
            let second = try await client.state.listTransactions(.with { $0.moduleID = id.hex; $0.afterSequence = 2 })
            #expect(second.transactions.map(\.id) == [ids[2]] && !second.more)

            let fetched = try await client.getTransactionVerified(ids[1], trust: trust)
            #expect(fetched.transaction?.sequence == 2 && fetched.entry.method == "/counter.Counter/Add")
            // Leaves proven one by one against the newest checkpoint; a leaf that is not the log's is refused.
            let leaves = (first.transactions + second.transactions).map { (Int64($0.leafIndex), Array(fetched.entry.bytes)) }
            await #expect(throws: ClientError.self) { try await client.proveLeaves(leaves, trust: trust) }
            let proven = try await client.proveLeaves([(Int64(fetched.proven.leafIndex), fetched.entry.bytes)], trust: trust)
            #expect(proven.size == 4)

            #expect(await statusCode { try await client.state.getTransaction(.with { $0.id = "nope" }) } == .invalidArgument)
            #expect(await statusCode { try await client.state.getTransaction(.with { $0.id = String(repeating: "0", count: 64) }) } == .notFound)
            #expect(await statusCode { try await client.state.get(.with { $0.moduleID = ModuleID(of: [1]).hex }) } == .notFound)
        }
    }

    @Test func nativeCallsNameTheirTransactionInAHeader() async throws {
        try await withServer(configure: Self.patientGuests) { client in
            let id = try await counterID(client)
            let request: [UInt8] = try Counter_AddRequest.with { $0.name = "n" }.serializedBytes()
            let answer = try await client.call("counter.Counter/Add", message: request)
            let header = try #require(answer.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true }))
            let fetched = try await client.state.getTransaction(.with { $0.id = header })
            #expect(fetched.transaction.moduleID == id.hex && fetched.transaction.output == Data(answer.message))
            // A query has no transaction to name.
            let query = try await client.call("counter.Counter/Get", message: try Counter_Name.with { $0.name = "n" }.serializedBytes())
            #expect(query.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true }) == nil)
        }
    }

    @Test func aFailedTransactionIsAnErrorWithTheGuestsMessageAndLeavesNoTrace() async throws {
        try await withServer(configure: Self.patientGuests) { client in
            let id = try await counterID(client)
            _ = try await add(client, "x")
            let failing = try Counter_FailRequest.with { $0.name = "x"; $0.how = "error" }.serializedData()
            let error = await #expect(throws: RPCError.self) {
                try await client.invoke(id, function: "AddThenFail", parameters: .with { $0.value = failing })
            }
            #expect(error?.code == .failedPrecondition && error?.message.contains("failed after adding") == true)
            let listed = try await client.state.listTransactions(.with { $0.moduleID = id.hex })
            #expect(listed.transactions.count == 1)
        }
    }
}
