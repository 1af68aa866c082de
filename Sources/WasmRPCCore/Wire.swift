/// Names the server and its clients must agree on.
public enum Wire {
    /// The header that pins a native call to one module, and names the module that answered.
    public static let moduleIDHeader = "wasmrpc-module-id"
    /// The header of a native call that changed state: the id of the transaction that recorded it.
    public static let transactionHeader = "wasmrpc-transaction"
    /// What a type URL starts with before the message's full name (`google.protobuf.Any`).
    public static let typeURLPrefix = "type.googleapis.com/"
    /// The transparency log's origin line unless the server is given another.
    public static let defaultLogOrigin = "wasmrpc.local/log"
}
