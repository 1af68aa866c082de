/// A failure a handler reports to the caller; the host receives `message` as the waPC guest error.
public struct GuestError: Error {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A function the host can call by name: takes the request payload, returns the response payload.
public typealias Handler = ([UInt8]) throws(GuestError) -> [UInt8]

/// Registered handlers. A guest is single-threaded and registers from `wapc_init`, so a plain
/// array searched linearly is enough (a guest has a handful of operations, and `Dictionary<String, …>`
/// would pull hashing and Unicode tables into every module).
nonisolated(unsafe) private var handlers: [(name: [UInt8], handler: Handler)] = []

/// Makes `handler` answer waPC calls of `operation`. Registering a name again replaces the handler.
public func register(_ operation: StaticString, _ handler: @escaping Handler) {
    let name = [UInt8](UnsafeBufferPointer(start: operation.utf8Start, count: operation.utf8CodeUnitCount))
    for index in handlers.indices where handlers[index].name == name {
        handlers[index].handler = handler
        return
    }
    handlers.append((name, handler))
}

/// Calls the host (`__host_call`) and returns its response, or throws the host's error text.
public func hostCall(binding: String, namespace: String, operation: String, payload: [UInt8]) throws(GuestError) -> [UInt8] {
    var binding = binding, namespace = namespace, operation = operation
    let succeeded = binding.withUTF8 { b in
        namespace.withUTF8 { n in
            operation.withUTF8 { o in
                payload.withUnsafeBytes { p in
                    __host_call(b.baseAddress, b.count, n.baseAddress, n.count, o.baseAddress, o.count, p.baseAddress, p.count)
                }
            }
        }
    }
    if succeeded == 1 {
        return receive(count: __host_response_len(), __host_response)
    }
    throw GuestError(String(decoding: receive(count: __host_error_len(), __host_error), as: UTF8.self))
}

/// Writes a line to the host's log (`__console_log`).
public func consoleLog(_ message: String) {
    var message = message
    message.withUTF8 { __console_log($0.baseAddress, $0.count) }
}

private func receive(count: Int, _ fill: (UnsafeMutableRawPointer?) -> Void) -> [UInt8] {
    guard count > 0 else { return [] }
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { fill($0.baseAddress) }
    return bytes
}

/// The waPC entry point: the host passes the operation and payload lengths, the guest pulls both
/// with `__guest_request`, and answers 1 (response set) or 0 (error set).
@_expose(wasm, "__guest_call")
@_cdecl("__guest_call")
public func __guest_call(_ operationLength: Int32, _ payloadLength: Int32) -> Int32 {
    var operation = [UInt8](repeating: 0, count: Int(operationLength))
    var payload = [UInt8](repeating: 0, count: Int(payloadLength))
    operation.withUnsafeMutableBytes { o in
        payload.withUnsafeMutableBytes { p in __guest_request(o.baseAddress, p.baseAddress) }
    }
    guard let handler = handlers.first(where: { $0.name == operation })?.handler else {
        return fail("unknown operation: " + String(decoding: operation, as: UTF8.self))
    }
    do throws(GuestError) {
        let response = try handler(payload)
        response.withUnsafeBytes { __guest_response($0.baseAddress, $0.count) }
        return 1
    } catch {
        return fail(error.message)
    }
}

private func fail(_ message: String) -> Int32 {
    var message = message
    message.withUTF8 { __guest_error($0.baseAddress, $0.count) }
    return 0
}
