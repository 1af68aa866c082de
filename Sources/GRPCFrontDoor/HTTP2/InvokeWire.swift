import CallCore
import Foundation
import ModuleRuntime
import SwiftProtobuf
import WasmRPCCore
import WasmRPCProto

/// `InvokeRequest` and `InvokeResponse` bytes for direct calls, without swift-protobuf's generic
/// message machinery on the common path: a request whose fields each appear once, all of them
/// known, is read field by field; any other (repeated or unknown fields, which protobuf merges or
/// keeps) is decoded by swift-protobuf, so the result is the same either way. The response is
/// written the same way unless it carries a transaction receipt.
enum InvokeWire {
    /// The call an `InvokeRequest` asks for.
    static func call(_ bytes: [UInt8]) throws(CallError) -> (target: CallTarget, typeURL: String, input: [UInt8]) {
        if let fields = try? bytes.withUnsafeBufferPointer({ try Fields(request: $0) }) {
            return (CallTarget(module: try ModuleID.parse(fields.module), function: fields.function), fields.typeURL, fields.parameters)
        }
        let request: Wasmrpc_V1_InvokeRequest
        do {
            request = try Wasmrpc_V1_InvokeRequest(serializedBytes: bytes)
        } catch {
            throw CallError(.invalidArgument, "the request is not a valid InvokeRequest: \(error)")
        }
        return try InvokerService.call(request)
    }

    /// The `InvokeResponse` for `invocation`.
    static func response(_ invocation: Invocation) throws -> [UInt8] {
        guard invocation.transaction == nil else { return try InvokerService.response(invocation).serializedBytes() }
        return response(typeURL: invocation.typeURL, output: invocation.output)
    }

    /// An `InvokeResponse` without a receipt: `Any { type_url = 1; value = 2 }` inside
    /// `FunctionResponse { result = 1 }` inside `InvokeResponse { response = 1 }`.
    static func response(typeURL: String, output: [UInt8]) -> [UInt8] {
        let typeURL = Array(typeURL.utf8)
        // The two messages are always there (set, if empty); the Any's fields only when not empty.
        let any = length(of: typeURL.count) + length(of: output.count)
        let function = 1 + varintSize(UInt64(any)) + any
        var out: [UInt8] = []
        out.reserveCapacity(1 + varintSize(UInt64(function)) + function)
        appendTag(1, &out)
        appendVarint(UInt64(function), &out)
        appendTag(1, &out)
        appendVarint(UInt64(any), &out)
        appendField(1, typeURL, &out)
        appendField(2, output, &out)
        return out
    }

    /// Bytes of a length-delimited field (tag, length, contents) with `count` bytes of contents;
    /// zero when it is empty (proto3 leaves empty fields out).
    private static func length(of count: Int) -> Int {
        count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count
    }

    private static func appendField(_ number: Int, _ bytes: [UInt8], _ out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendTag(number, &out)
        appendVarint(UInt64(bytes.count), &out)
        out += bytes
    }

    private static func appendTag(_ number: Int, _ out: inout [UInt8]) {
        out.append(UInt8(number << 3 | 2))
    }

    private static func appendVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    /// Not the common form: swift-protobuf decodes it.
    private struct Uncommon: Error {}

    /// The fields of an `InvokeRequest` in its common form.
    private struct Fields {
        var module = ""
        var function = ""
        var typeURL = ""
        var parameters: [UInt8] = []

        init(request: UnsafeBufferPointer<UInt8>) throws {
            var reader = Reader(request)
            while let (number, body) = try reader.field() {
                switch number {
                case 1:  // Metadata: only its id (1) may be set
                    var metadata = Reader(body)
                    while let (field, value) = try metadata.field() {
                        guard field == 1 else { throw Uncommon() }
                        module = try Self.text(value)
                    }
                case 2:  // FunctionRequest { name = 1; parameters = 2 }
                    var function = Reader(body)
                    while let (field, value) = try function.field() {
                        switch field {
                        case 1: self.function = try Self.text(value)
                        case 2:  // Any { type_url = 1; value = 2 }
                            var any = Reader(value)
                            while let (anyField, anyValue) = try any.field() {
                                switch anyField {
                                case 1: typeURL = try Self.text(anyValue)
                                case 2: parameters = Array(anyValue)
                                default: throw Uncommon()
                                }
                            }
                        default: throw Uncommon()
                        }
                    }
                default: throw Uncommon()
                }
            }
        }

        private static func text(_ bytes: UnsafeBufferPointer<UInt8>) throws -> String {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw Uncommon() }
            return text
        }
    }

    /// Length-delimited fields, one after another, each number at most once; any other wire type,
    /// or a field seen again (which protobuf would merge or overwrite), is not the common form.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// Bit n: field n was read.
        private var seen: UInt16 = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func field() throws -> (Int, UnsafeBufferPointer<UInt8>)? {
            guard index < bytes.count else { return nil }
            let key = try varint()
            guard key & 7 == 2, key >> 3 > 0, key >> 3 < 16 else { throw Uncommon() }
            let bit: UInt16 = 1 << (key >> 3)
            guard seen & bit == 0 else { throw Uncommon() }
            seen |= bit
            let count = try varint()
            guard count <= UInt64(bytes.count - index) else { throw Uncommon() }
            let start = index
            index += Int(count)
            return (Int(key >> 3), UnsafeBufferPointer(rebasing: bytes[start..<index]))
        }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            throw Uncommon()
        }
    }
}
