import WasmRPCCore

extension IdempotencyKey {
    /// The key a call's `wasmrpc-idempotency-key` header gives, nil without one; a malformed one
    /// is INVALID_ARGUMENT (the client meant to retry safely, so the call must not run without it).
    static func fromHeader(_ text: String?) throws(CallError) -> IdempotencyKey? {
        guard let text else { return nil }
        guard let key = IdempotencyKey(text) else { throw CallError(.invalidArgument, problem(with: text)) }
        return key
    }

    /// `fromHeader` of a call's values of the header: a repeated header is INVALID_ARGUMENT too
    /// (which one would name the call?).
    static func fromHeader(values: [String]) throws(CallError) -> IdempotencyKey? {
        guard values.count <= 1 else { throw repeated }
        return try fromHeader(values.first)
    }

    static let repeated = CallError(.invalidArgument, "the \(Wire.idempotencyKeyHeader) header is given more than once")

    /// The refusal of a key on a stream of calls: a key names one call.
    public static let refusedOnStreams = CallError(
        .invalidArgument,
        "a \(Wire.idempotencyKeyHeader) names one call, and a bidirectional stream carries many: send keyed calls one by one")
}
