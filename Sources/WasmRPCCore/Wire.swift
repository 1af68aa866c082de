/// Names the server and its clients must agree on.
public enum Wire {
    /// The header that pins a native call to one module, and names the module that answered.
    public static let moduleIDHeader = "wasmrpc-module-id"
    /// The header of a native call that changed state: the id of the transaction that recorded it.
    public static let transactionHeader = "wasmrpc-transaction"
    /// The request header that names a state-changing call for exactly-once retries
    /// (`IdempotencyKey`).
    public static let idempotencyKeyHeader = "wasmrpc-idempotency-key"
    /// The response header, set to `true`, of an answer that is the stored answer of an earlier call
    /// with the same idempotency key: this call did not run.
    public static let replayedHeader = "wasmrpc-idempotent-replay"
    /// What a type URL starts with before the message's full name (`google.protobuf.Any`).
    public static let typeURLPrefix = "type.googleapis.com/"
    /// The transparency log's origin line unless the server is given another.
    public static let defaultLogOrigin = "wasmrpc.local/log"
}
