import Foundation
import GRPCCore
import NIOCore
import NIOHPACK
import CallCore
import WasmRPCCore

/// The gRPC over HTTP/2 protocol's pieces ("PROTOCOL-HTTP2" in the grpc repository): message
/// framing, the headers a server reads and writes, metadata as HTTP/2 headers.
enum GRPCWire {
    static let contentType = "application/grpc"

    /// Request messages as they arrive in DATA frames: a one-byte compressed flag, a four-byte
    /// big-endian length, the message. Messages may span frames and frames may hold several.
    struct MessageDecoder {
        let maxMessageBytes: Int
        private var buffer: ByteBuffer?

        init(maxMessageBytes: Int) {
            self.maxMessageBytes = maxMessageBytes
        }

        /// Whether part of a message is still waiting for its rest.
        var hasPartialMessage: Bool { buffer.map { $0.readableBytes > 0 } ?? false }

        mutating func append(_ bytes: ByteBuffer) {
            if buffer == nil || buffer!.readableBytes == 0 {
                buffer = bytes
            } else {
                var bytes = bytes
                buffer!.writeBuffer(&bytes)
            }
        }

        /// The next whole message, nil if none is complete yet. Compressed messages are refused
        /// (this server accepts no compression), and so are messages over the limit, before their
        /// bytes arrive.
        mutating func next() throws(CallError) -> [UInt8]? {
            guard var buffer, buffer.readableBytes >= 5 else { return nil }
            let start = buffer.readerIndex
            let compressed = buffer.getInteger(at: start, as: UInt8.self)!
            let length = Int(buffer.getInteger(at: start + 1, as: UInt32.self)!)
            guard compressed == 0 else {
                throw CallError(.internalError, "a message is marked compressed, but the call named no compression")
            }
            guard length <= maxMessageBytes else {
                throw CallError(
                    .resourceExhausted, "the request message has \(length) bytes; this server takes at most \(maxMessageBytes)")
            }
            guard buffer.readableBytes >= 5 + length else { return nil }
            buffer.moveReaderIndex(forwardBy: 5)
            let message = buffer.readBytes(length: length)!
            self.buffer = buffer
            return message
        }
    }

    /// `message` framed as one gRPC message (not compressed).
    static func frame(_ message: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// The response headers of a call that answers.
    static func responseHeaders(_ metadata: Metadata = [:]) -> HPACKHeaders {
        var headers: HPACKHeaders = [":status": "200", "content-type": contentType]
        add(metadata, to: &headers)
        return headers
    }

    /// The trailers that end a call with `status`; `trailersOnly` when no headers went before them
    /// (the status then comes with the HTTP status and content type, in the one HEADERS frame).
    static func trailers(_ status: Status, metadata: Metadata = [:], trailersOnly: Bool) -> HPACKHeaders {
        var headers: HPACKHeaders = trailersOnly ? [":status": "200", "content-type": contentType] : [:]
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty { headers.add(name: "grpc-message", value: percentEncoded(status.message)) }
        add(metadata, to: &headers)
        return headers
    }

    /// The headers of a request that is not a gRPC call at all (wrong method or content type):
    /// the HTTP status says why, with a gRPC status for gRPC clients that look.
    static func refusal(httpStatus: Int, _ status: Status) -> HPACKHeaders {
        var headers: HPACKHeaders = [":status": String(httpStatus), "content-type": contentType]
        headers.add(contentsOf: trailers(status, trailersOnly: false))
        return headers
    }

    /// Metadata as HTTP/2 headers: binary values (keys ending in `-bin`) base64-encoded.
    static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): headers.add(name: key, value: text)
            case .binary(let bytes): headers.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// Request headers as metadata, without the pseudo-headers: `-bin` values base64-decoded
    /// (padded or not; a value that does not decode stays text).
    static func metadata(_ headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(headers.count)
        for (name, value, _) in headers where !name.hasPrefix(":") {
            if name.hasSuffix("-bin"), let bytes = base64Decoded(value) {
                metadata.addBinary(bytes, forKey: name)
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        return metadata
    }

    static func base64Decoded(_ text: String) -> [UInt8]? {
        let padding = (4 - text.utf8.count % 4) % 4
        return Data(base64Encoded: padding == 0 ? text : text + String(repeating: "=", count: padding)).map(Array.init)
    }

    /// `grpc-message`'s encoding: bytes outside printable ASCII, and `%`, as `%XX`.
    static func percentEncoded(_ message: String) -> String {
        guard message.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == 0x25 }) else { return message }
        var out = [UInt8]()
        out.reserveCapacity(message.utf8.count + 16)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in message.utf8 {
            if byte < 0x20 || byte > 0x7E || byte == 0x25 {
                out.append(0x25)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The request headers this server reads, found in one pass (HTTP/2 header names are
    /// lowercase; the first of repeated ones counts).
    struct RequestHeaders {
        var method: String?
        var path: String?
        var contentType: String?
        var encoding: String?
        var timeout: String?
        var authorization: String?
        var moduleID: String?
        var requestID: String?
        /// Every value of `wasmrpc-idempotency-key` (a key names one call: more than one is refused).
        var idempotencyKeys: [String] = []

        init(_ headers: HPACKHeaders) {
            for (name, value, _) in headers {
                switch name {
                case ":method": method = method ?? value
                case ":path": path = path ?? value
                case "content-type": contentType = contentType ?? value
                case "grpc-encoding": encoding = encoding ?? value
                case "grpc-timeout": timeout = timeout ?? value
                case "authorization": authorization = authorization ?? value
                case Wire.moduleIDHeader: moduleID = moduleID ?? value
                case CallLog.requestIDHeader: requestID = requestID ?? value
                case Wire.idempotencyKeyHeader: idempotencyKeys.append(value)
                default: break
                }
            }
        }

        /// What the core reads of them.
        var call: CallHeaders {
            CallHeaders(
                authorization: authorization, requestID: requestID, moduleIDs: moduleID.map { [$0] } ?? [],
                idempotencyKeys: idempotencyKeys, timeout: timeout.flatMap(GRPCTimeout.parse))
        }

        /// Why they do not open a gRPC call this server takes, as the headers to answer with; nil
        /// when they do (then `path` is set and begins with `/`).
        var refusal: HPACKHeaders? {
            guard method == "POST" else {
                return GRPCWire.refusal(httpStatus: 405, Status(code: .internalError, message: "gRPC calls use POST"))
            }
            guard let contentType, contentType.hasPrefix(GRPCWire.contentType) else {
                return GRPCWire.refusal(httpStatus: 415, Status(code: .internalError, message: "the content type must be application/grpc"))
            }
            if let encoding, encoding != "identity" {
                var answer = trailers(
                    Status(code: .unimplemented, message: "this server accepts no compression (grpc-encoding \(encoding))"), trailersOnly: true)
                answer.add(name: "grpc-accept-encoding", value: "identity")
                return answer
            }
            guard let path, path.hasPrefix("/") else {
                return trailers(Status(code: .unimplemented, message: "the call names no method (:path)"), trailersOnly: true)
            }
            return nil
        }
    }

    /// The method `path` (`/package.Service/method`) names; nil if it is not of that form.
    static func method(_ path: String) -> MethodDescriptor? {
        let parts = path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return MethodDescriptor(fullyQualifiedService: String(Substring(parts[0])), method: String(Substring(parts[1])))
    }

    /// A peer address as grpc-swift names it: `ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`.
    static func peer(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let a)?: return "ipv4:\(a.host):\(address!.port ?? 0)"
        case .v6(let a)?: return "ipv6:[\(a.host)]:\(address!.port ?? 0)"
        case .unixDomainSocket?: return "unix:\(address!.pathname ?? "")"
        case nil: return "unknown"
        }
    }
}
