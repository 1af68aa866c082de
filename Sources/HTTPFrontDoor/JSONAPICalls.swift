import CallCore
import ContentStore
import DynamicProto
import Foundation
import HTTPTypes
import Hummingbird
import ModuleRuntime
import NIOCore
import WasmRPCCore

/// The JSON API's function calls, and the pieces of its wire form both paths share (this one and
/// `DirectJSONCalls`).
extension JSONAPI {
    /// Runs `target` with the request's body (proto3 JSON of its input; empty means `{}`) through
    /// the core: at once when the runtime can, else on a worker.
    func call(_ target: CallTarget, _ call: Call, _ request: Request) async throws -> Response {
        try Self.requireJSON(request.headers)
        var request = request
        let body = try await Self.collect(&request, upTo: maxCallBodyBytes)
        let interface: ModuleInterface
        let input: [UInt8]
        let ready = core.ready(target)
        do {
            if let ready { interface = ready.interface } else { interface = try await core.runtime.interface(of: target.module) }
            input = try Self.input(body, of: try ready?.function ?? interface.resolve(target.function), in: interface)
        } catch {
            throw core.countFailure(target, error, started: call.started)
        }
        let invocation = try await core.run(call, target, ready: ready, input: input)
        let headers: HTTPFields
        let output: ByteBuffer
        do {
            (headers, output) = try Self.answer(invocation, in: interface)
        } catch {
            guard let transaction = invocation.transaction?.record else { throw error }
            // Committed: the error answer must say so.
            throw AnswerAfterCommit(
                error: CallError(.internalError, "transaction \(transaction.id) committed, but its output cannot be written as proto3 JSON: \(error)"),
                transaction: transaction)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: output))
    }

    /// A call's body is JSON, and says so: a page on another site can send a form or a
    /// `text/plain` body to any server without asking, but not `application/json`.
    static func requireJSON(_ fields: HTTPFields) throws(HTTPRefusal) {
        guard isJSON(fields[.contentType]) else {
            throw HTTPRefusal(
                error: CallError(.invalidArgument, "a call's body is its input as JSON: send it with `Content-Type: application/json`"),
                status: 415)
        }
    }

    /// Whether a `Content-Type` is `application/json` (any case, any parameters), read as bytes:
    /// every call of the fast path asks.
    static func isJSON(_ contentType: String?) -> Bool {
        guard var contentType else { return false }
        return contentType.withUTF8 { bytes in
            var type = bytes[...]
            if let semicolon = type.firstIndex(of: UInt8(ascii: ";")) { type = type[..<semicolon] }
            while let last = type.last, last == 0x20 || last == 0x09 { type = type.dropLast() }
            while let first = type.first, first == 0x20 || first == 0x09 { type = type.dropFirst() }
            guard type.count == jsonType.count else { return false }
            // A byte matches as it is or with bit 5 set (ASCII lowercase): letters in either case,
            // and otherwise only control bytes, which no browser sends in a content type.
            return zip(type, jsonType).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
        }
    }

    private static let jsonType = Array("application/json".utf8)

    /// A call's input: the body as proto3 JSON of the function's input type (empty means `{}`),
    /// in protobuf binary.
    static func input(_ body: ByteBuffer, of function: DynamicProto.MethodDescriptor, in interface: ModuleInterface) throws(CallError) -> [UInt8] {
        let text = body.readableBytes == 0 ? "{}" : String(buffer: body)
        do {
            return try DynamicMessage(jsonString: text, type: function.input, pool: interface.pool).serializedBytes()
        } catch {
            throw CallError(.invalidArgument, "the body is not a JSON \(interface.pool[function.input].fullName): \(error.message)")
        }
    }

    /// A call's answer: the output as proto3 JSON, with its fuel and transaction in headers.
    static func answer(_ invocation: Invocation, in interface: ModuleInterface) throws -> (HTTPFields, ByteBuffer) {
        let output = try DynamicMessage(serializedBytes: invocation.output, type: invocation.function.output, pool: interface.pool)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[Self.fuelHeader] = String(invocation.fuelUsed)
        if let transaction = invocation.transaction {
            headers[Self.transactionHeader] = transaction.record.id
            headers[Self.transactionSequenceHeader] = String(transaction.record.sequence)
        }
        if invocation.replayed { headers[Self.replayedHeader] = "true" }
        return (headers, ByteBuffer(string: try output.jsonString()))
    }

    // MARK: - Helpers

    static func collect(_ request: inout Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HTTPRefusal(error: CallError(.resourceExhausted, "the request body is larger than the \(limit) bytes allowed"), status: 413)
        }
    }

    static func parameter(_ name: String, _ context: BasicRequestContext) throws(CallError) -> String {
        guard let raw = context.parameters.get(name), let text = raw.removingPercentEncoding else {
            throw CallError(.invalidArgument, "the path's \(name) is not valid percent-encoded text")
        }
        return text
    }

    static func moduleID(_ context: BasicRequestContext) throws(CallError) -> ModuleID {
        try ModuleID.parse(try parameter("id", context))
    }

    /// A decimal query parameter from 0 to `max`.
    static func number(_ text: Substring, _ name: String, max: UInt64 = UInt64(Int64.max)) throws(CallError) -> UInt64 {
        guard let value = UInt64(text), value <= max, text.allSatisfy(\.isASCII) else {
            throw CallError(.invalidArgument, "\(name) must be a whole number from 0 to \(max), not \(EchoedText.quote(String(text)))")
        }
        return value
    }

    /// A base64 (standard or URL-safe, padding optional) query parameter.
    static func bytes(_ text: Substring, _ name: String) throws(CallError) -> Data {
        var standard = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: standard) else {
            throw CallError(.invalidArgument, "\(name) must be base64, not \(EchoedText.quote(String(text)))")
        }
        return data
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APIModel.encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func jsonText(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The error document of `error`, with its HTTP status.
    static func error(_ error: CallError, status override: Int? = nil) -> Response {
        let (status, headers, body) = errorParts(error, status: override)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
    }

    static func errorParts(_ error: CallError, status override: Int? = nil) -> (status: Int, headers: HTTPFields, body: ByteBuffer) {
        let status = override ?? APIStatus.http(error.status)
        let document = APIModel.ErrorDocument(error: .init(code: status, status: error.status.name, message: error.message))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = (try? APIModel.encoder.encode(document)) ?? Data("{}".utf8)
        return (status, headers, ByteBuffer(bytes: data))
    }
}

/// A refusal with an HTTP status of its own: 413 for a body over the limit (RESOURCE_EXHAUSTED),
/// 415 for a call that is not JSON.
struct HTTPRefusal: Error {
    let error: CallError
    let status: Int
}

/// A call whose transaction committed but whose answer cannot be made: its error answer names
/// the transaction.
struct AnswerAfterCommit: Error {
    let error: CallError
    let transaction: TransactionRecord
}

/// Call statuses as HTTP statuses, the usual way (as google.rpc.Code documents and grpc-gateway
/// maps them).
enum APIStatus {
    static func http(_ status: CallStatus) -> Int {
        switch status {
        case .ok: 200
        case .cancelled: 499
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .deadlineExceeded: 504
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .permissionDenied: 403
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .unknown, .internalError, .dataLoss: 500
        case .unauthenticated: 401
        }
    }
}
