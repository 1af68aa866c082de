import DynamicProto
import Foundation
import WasmRPCProto

/// The JSON documents of the JSON API (`JSONAPI`), as `Web/openapi.yaml` describes them: the
/// wire API's messages with lowerCamelCase names, sizes and indices as JSON numbers, bytes as
/// base64, times as RFC 3339 text, and 64-bit nanoseconds as decimal text (JavaScript numbers
/// cannot hold them).
enum APIModel {
    struct Function: Encodable {
        let name: String
        let service: String
        let path: String
        let inputType: String
        let outputType: String
        let clientStreaming: Bool
        let serverStreaming: Bool

        init(_ function: Wasmrpc_V1_Function) {
            name = function.name
            service = function.service
            path = function.path
            inputType = function.inputType
            outputType = function.outputType
            clientStreaming = function.clientStreaming
            serverStreaming = function.serverStreaming
        }
    }

    struct LogReceipt: Encodable {
        let leafIndex: UInt64
        let leaf: Data
        let treeSize: UInt64
        let inclusionProof: [Data]
        let checkpoint: String

        init(_ receipt: Wasmrpc_V1_LogReceipt) {
            leafIndex = receipt.leafIndex
            leaf = receipt.leaf
            treeSize = receipt.treeSize
            inclusionProof = receipt.inclusionProof
            checkpoint = receipt.checkpoint
        }
    }

    /// A module as List shows it; Get adds `schemas` and `receipt`.
    struct Module: Encodable {
        let id: String
        let name: String
        let size: UInt64
        let added: String
        let functions: [Function]
        /// JSON Schemas of the functions' messages by full name (`DescriptorPool.jsonSchemas`).
        var schemas: [String: JSONSchema]?
        var receipt: LogReceipt?

        init(_ metadata: Wasmrpc_V1_Metadata) {
            id = metadata.id
            name = metadata.name
            size = metadata.size
            added = APIModel.time(seconds: metadata.added.seconds, nanos: metadata.added.nanos)
            functions = metadata.functions.map(Function.init)
        }
    }

    struct ModuleList: Encodable {
        let modules: [Module]
        /// Empty on the last page.
        let nextPageToken: String
    }

    struct Added: Encodable {
        let created: Bool
        let module: Module
    }

    struct Checkpoint: Encodable {
        let checkpoint: String
        let verifierKey: String
    }

    struct InclusionProof: Encodable {
        let leafIndex: UInt64
        let treeSize: UInt64
        let leaf: Data
        let hashes: [Data]
    }

    struct ConsistencyProof: Encodable {
        let first: UInt64
        let second: UInt64
        let hashes: [Data]
        let firstRoot: Data
        let secondRoot: Data
    }

    struct Entries: Encodable {
        let start: UInt64
        let leaves: [Data]
    }

    struct StateEntry: Encodable {
        let key: Data
        let value: Data
    }

    struct StateRange: Encodable {
        let entries: [StateEntry]
        let more: Bool
    }

    struct Transaction: Encodable {
        let id: String
        let moduleId: String
        let sequence: UInt64
        let method: String
        let input: Data
        let output: Data
        let readSet: Data
        let writeSet: Data
        let time: String
        let timeUnixNanos: String
        let nonce: Data
        let leafIndex: UInt64

        init(_ transaction: Wasmrpc_V1_Transaction) {
            id = transaction.id
            moduleId = transaction.moduleID
            sequence = transaction.sequence
            method = transaction.method
            input = transaction.input
            output = transaction.output
            readSet = transaction.readSet
            writeSet = transaction.writeSet
            let nanos = transaction.timeUnixNanos
            let (seconds, remainder) = nanos.quotientAndRemainder(dividingBy: 1_000_000_000)
            time = APIModel.time(
                seconds: remainder < 0 ? seconds - 1 : seconds, nanos: Int32(remainder < 0 ? remainder + 1_000_000_000 : remainder))
            timeUnixNanos = String(nanos)
            nonce = transaction.nonce
            leafIndex = transaction.leafIndex
        }
    }

    struct TransactionList: Encodable {
        let transactions: [Transaction]
        let more: Bool
    }

    struct TransactionWithReceipt: Encodable {
        let transaction: Transaction
        let receipt: LogReceipt
    }

    /// `{"error": {"code": 404, "status": "NOT_FOUND", "message": "…"}}`: the HTTP status, the
    /// gRPC status name and the same message a gRPC client gets.
    struct ErrorDocument: Encodable {
        struct Body: Encodable {
            let code: Int
            let status: String
            let message: String
        }
        let error: Body
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-07T14:04:16.123Z`.
    static func time(seconds: Int64, nanos: Int32) -> String {
        // Whole seconds through the formatter, milliseconds as digits: no binary fraction to round.
        let whole = Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(Date.ISO8601FormatStyle())
        let milliseconds = String(nanos / 1_000_000)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - milliseconds.count) + milliseconds + "Z"
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()
}
