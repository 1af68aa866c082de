import GRPCCore
import WasmRPCCore

extension IdempotencyKey {
    /// The key a call's `wasmrpc-idempotency-key` header gives, nil without one; a malformed one
    /// is INVALID_ARGUMENT (the client meant to retry safely, so the call must not run without it).
    static func fromHeader(_ text: String?) throws(RPCError) -> IdempotencyKey? {
        guard let text else { return nil }
        guard let key = IdempotencyKey(text) else { throw RPCError(code: .invalidArgument, message: problem(with: text)) }
        return key
    }

    /// `fromHeader` of a call's values of the header: a repeated header is INVALID_ARGUMENT too
    /// (which one would name the call?).
    static func fromHeader(values: some Sequence<String>) throws(RPCError) -> IdempotencyKey? {
        var iterator = values.makeIterator()
        guard let first = iterator.next() else { return nil }
        guard iterator.next() == nil else { throw repeated }
        return try fromHeader(first)
    }

    static let repeated = RPCError(code: .invalidArgument, message: "the \(Wire.idempotencyKeyHeader) header is given more than once")

    /// The refusal of a key on a stream of calls: a key names one call.
    static let refusedOnStreams = RPCError(
        code: .invalidArgument,
        message: "a \(Wire.idempotencyKeyHeader) names one call, and a bidirectional stream carries many: send keyed calls one by one")
}
