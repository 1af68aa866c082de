import CallCore
import DynamicProto
import Foundation
import HTTPTypes
import Hummingbird
import ModuleRuntime
import NIOCore
import SwiftProtobuf
import WasmRPCCore
import WasmRPCProto

/// The JSON API's registry, log and state routes: query parameters into the core's request
/// messages, its answers into `APIModel` documents.
extension JSONAPI {
    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let listRequest = try Wasmrpc_V1_ListRequest.with {
            $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            $0.pageToken = query["page_token"].map(String.init) ?? ""
        }
        let page = try await core.list(listRequest)
        return try Self.json(APIModel.ModuleList(modules: page.modules.map(APIModel.Module.init), nextPageToken: page.nextPageToken))
    }

    /// A module with its functions' message schemas and its log receipt (`given`: as Add answered).
    func detail(_ id: ModuleID, given: (Wasmrpc_V1_Metadata, Wasmrpc_V1_LogReceipt)? = nil) async throws -> APIModel.Module {
        let (metadata, receipt): (Wasmrpc_V1_Metadata, Wasmrpc_V1_LogReceipt)
        if let given {
            (metadata, receipt) = given
        } else {
            let answer = try await core.get(.with { $0.id = id.hex; $0.metadataOnly = true })
            (metadata, receipt) = (answer.metadata, answer.receipt)
        }
        let interface = try await core.runtime.interface(of: id)
        var module = APIModel.Module(metadata)
        module.schemas = interface.pool.jsonSchemas(of: interface.functions.flatMap { [$0.input, $0.output] })
        module.receipt = APIModel.LogReceipt(receipt)
        return module
    }

    /// The module's bytes, or its descriptor set, as stored (the id verified).
    func download(_ id: ModuleID, descriptor: Bool) async throws -> Response {
        let answer = try await core.get(.with { $0.id = id.hex; $0.metadataOnly = descriptor })
        var headers = HTTPFields()
        headers[.contentType] = descriptor ? "application/x-protobuf" : "application/wasm"
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        let bytes = descriptor ? try answer.metadata.descriptor.serializedBytes() : Array(answer.wasm)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Add from a `multipart/form-data` form: `wasm` (required), `descriptor` (a serialized
    /// FileDescriptorSet; without it the module's embedded one) and `name`. 201 when the module is
    /// new, 200 when it was stored already.
    func addModule(_ request: Request) async throws -> Response {
        var request = request
        let body = try await Self.collect(&request, upTo: maxAddBodyBytes)
        let parts = try MultipartForm.parse(Array(buffer: body), contentType: request.headers[.contentType])
        guard let wasm = parts["wasm"] else {
            throw CallError(.invalidArgument, "the form has no `wasm` part (the module's bytes)")
        }
        let addRequest = try Wasmrpc_V1_AddRequest.with {
            $0.wasm = Data(wasm)
            $0.name = String(decoding: parts["name"] ?? [], as: UTF8.self)
            if let descriptor = parts["descriptor"], !descriptor.isEmpty {
                do {
                    $0.descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: descriptor)
                } catch {
                    throw CallError(.invalidArgument, "the `descriptor` part is not a serialized FileDescriptorSet: \(error)")
                }
            }
        }
        let added = try await core.add(addRequest)
        let module = try await detail(try ModuleID.parse(added.metadata.id), given: (added.metadata, added.receipt))
        return try Self.json(APIModel.Added(created: added.created, module: module), status: added.created ? .created : .ok)
    }

    /// A random valid request of `function` (the same generator as `wasmrpc invoke --random`),
    /// as proto3 JSON; `seed` makes it repeatable.
    func example(_ id: ModuleID, function name: String, _ request: Request) async throws -> Response {
        let interface = try await core.runtime.interface(of: id)
        let function = try interface.resolve(name)
        let seed = try request.uri.queryParameters["seed"].map { try Self.number($0, "seed") } ?? UInt64.random(in: 0 ... .max)
        var generator = SeededRandom(seed: seed)
        let message = DynamicMessage.random(type: function.input, pool: interface.pool, using: &generator)
        return Self.jsonText(try message.jsonString())
    }

    func registerLog(on router: Router<BasicRequestContext>) {
        add(.get, "/v1/log/checkpoint", .fixed(.log), router) { _, _, _ in
            let answer = try await core.getCheckpoint(.init())
            return try Self.json(APIModel.Checkpoint(checkpoint: answer.checkpoint, verifierKey: answer.verifierKey))
        }
        add(.get, "/v1/log/inclusion", .fixed(.log), router) { request, _, _ in
            let query = request.uri.queryParameters
            let proofRequest = try Wasmrpc_V1_GetInclusionProofRequest.with {
                if let index = query["leaf_index"] {
                    $0.leafIndex = try Self.number(index, "leaf_index")
                    guard query["module_id"] == nil else { throw CallError(.invalidArgument, "name a leaf_index or a module_id, not both") }
                } else if let id = query["module_id"] {
                    $0.moduleID = String(id)
                }
                $0.treeSize = try query["tree_size"].map { try Self.number($0, "tree_size") } ?? 0
            }
            let proof = try await core.getInclusionProof(proofRequest)
            return try Self.json(APIModel.InclusionProof(leafIndex: proof.leafIndex, treeSize: proof.treeSize, leaf: proof.leaf, hashes: proof.hashes))
        }
        add(.get, "/v1/log/consistency", .fixed(.log), router) { request, _, _ in
            let query = request.uri.queryParameters
            let proofRequest = try Wasmrpc_V1_GetConsistencyProofRequest.with {
                $0.first = try Self.number(query["first"] ?? "", "first")
                $0.second = try query["second"].map { try Self.number($0, "second") } ?? 0
            }
            let proof = try await core.getConsistencyProof(proofRequest)
            return try Self.json(
                APIModel.ConsistencyProof(
                    first: proof.first, second: proof.second, hashes: proof.hashes, firstRoot: proof.firstRoot, secondRoot: proof.secondRoot))
        }
        add(.get, "/v1/log/entries", .fixed(.log), router) { request, _, _ in
            let query = request.uri.queryParameters
            let entriesRequest = try Wasmrpc_V1_GetEntriesRequest.with {
                $0.start = try query["start"].map { try Self.number($0, "start") } ?? 0
                $0.count = try query["count"].map { try Self.number($0, "count", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let entries = try await core.getEntries(entriesRequest)
            return try Self.json(APIModel.Entries(start: entriesRequest.start, leaves: entries.leaves))
        }
    }

    func registerState(on router: Router<BasicRequestContext>) {
        add(.get, "/v1/modules/{id}/state", .fixed(.state), router) { request, context, _ in
            let query = request.uri.queryParameters
            let rangeRequest = try Wasmrpc_V1_RangeStateRequest.with {
                $0.moduleID = try Self.moduleID(context).hex
                $0.startKey = try query["start_key"].map { try Self.bytes($0, "start_key") } ?? Data()
                $0.endKey = try query["end_key"].map { try Self.bytes($0, "end_key") } ?? Data()
                $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let range = try await core.rangeState(rangeRequest)
            return try Self.json(
                APIModel.StateRange(entries: range.entries.map { APIModel.StateEntry(key: $0.key, value: $0.value) }, more: range.more))
        }
        add(.get, "/v1/modules/{id}/transactions", .fixed(.state), router) { request, context, _ in
            let query = request.uri.queryParameters
            let listRequest = try Wasmrpc_V1_ListTransactionsRequest.with {
                $0.moduleID = try Self.moduleID(context).hex
                $0.afterSequence = try query["after_sequence"].map { try Self.number($0, "after_sequence") } ?? 0
                $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let page = try await core.listTransactions(listRequest)
            return try Self.json(APIModel.TransactionList(transactions: page.transactions.map(APIModel.Transaction.init), more: page.more))
        }
        add(.get, "/v1/transactions/{id}", .fixed(.state), router) { _, context, _ in
            let answer = try await core.getTransaction(.with { $0.id = (try? Self.parameter("id", context)) ?? "" })
            return try Self.json(
                APIModel.TransactionWithReceipt(transaction: APIModel.Transaction(answer.transaction), receipt: APIModel.LogReceipt(answer.receipt)))
        }
    }
}
