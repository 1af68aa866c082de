// The waPC host ABI (https://wapc.io/docs/spec/), imported from module "wapc".
// Pointers and lengths are i32 in wasm32; wasm-ld drops imports that nothing calls.

@_extern(wasm, module: "wapc", name: "__guest_request")
@_extern(c)
func __guest_request(_ operationPointer: UnsafeMutableRawPointer?, _ payloadPointer: UnsafeMutableRawPointer?)

@_extern(wasm, module: "wapc", name: "__guest_response")
@_extern(c)
func __guest_response(_ pointer: UnsafeRawPointer?, _ length: Int)

@_extern(wasm, module: "wapc", name: "__guest_error")
@_extern(c)
func __guest_error(_ pointer: UnsafeRawPointer?, _ length: Int)

@_extern(wasm, module: "wapc", name: "__host_call")
@_extern(c)
func __host_call(
    _ bindingPointer: UnsafeRawPointer?, _ bindingLength: Int,
    _ namespacePointer: UnsafeRawPointer?, _ namespaceLength: Int,
    _ operationPointer: UnsafeRawPointer?, _ operationLength: Int,
    _ payloadPointer: UnsafeRawPointer?, _ payloadLength: Int
) -> Int

@_extern(wasm, module: "wapc", name: "__host_response_len")
@_extern(c)
func __host_response_len() -> Int

@_extern(wasm, module: "wapc", name: "__host_response")
@_extern(c)
func __host_response(_ pointer: UnsafeMutableRawPointer?)

@_extern(wasm, module: "wapc", name: "__host_error_len")
@_extern(c)
func __host_error_len() -> Int

@_extern(wasm, module: "wapc", name: "__host_error")
@_extern(c)
func __host_error(_ pointer: UnsafeMutableRawPointer?)

@_extern(wasm, module: "wapc", name: "__console_log")
@_extern(c)
func __console_log(_ pointer: UnsafeRawPointer?, _ length: Int)
