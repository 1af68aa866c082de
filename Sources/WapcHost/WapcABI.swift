import WasmKit

/// The waPC host ABI (https://wapc.io/docs/spec/): the functions of import module `wapc`.
enum WapcABI {
    static let functions: [HostFunction] = [
        // __guest_request(op_ptr, ptr): copy the operation name and the payload into the guest.
        HostFunction("wapc", "__guest_request", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            let memory = try state.guestMemory(caller)
            try memory.write(state.operation, at: arguments.u32(0), "__guest_request operation")
            try memory.write(state.payload, at: arguments.u32(1), "__guest_request payload")
        },
        // __guest_response(ptr, len): the guest's answer.
        HostFunction("wapc", "__guest_response", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            guard state.guestResponse == nil else { throw .guestFault("the guest set its response twice") }
            let memory = try state.guestMemory(caller)
            try memory.check(arguments.u32(0), UInt64(arguments.u32(1)), "__guest_response")
            try checkResponseSize(arguments.u32(1), state, "__guest_response")
            state.guestResponse = try memory.read(arguments.u32(0), arguments.u32(1), "__guest_response")
        },
        // __guest_error(ptr, len): the guest's error message.
        HostFunction("wapc", "__guest_error", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            guard state.guestError == nil else { throw .guestFault("the guest set its error twice") }
            let memory = try state.guestMemory(caller)
            try memory.check(arguments.u32(0), UInt64(arguments.u32(1)), "__guest_error")
            try checkResponseSize(arguments.u32(1), state, "__guest_error")
            state.guestError = try memory.read(arguments.u32(0), arguments.u32(1), "__guest_error")
        },
        // __host_call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len) -> 1 ok / 0 error
        HostFunction("wapc", "__host_call", [.i32, .i32, .i32, .i32, .i32, .i32, .i32, .i32], [.i32]) {
            state, caller, arguments, results throws(WapcError) in
            try state.checkDeadline()
            state.hostCalls += 1
            guard state.hostCalls <= state.configuration.maxHostCalls else {
                throw .limitExceeded("the guest made more than \(state.configuration.maxHostCalls) host calls in one call")
            }
            let total = UInt64(arguments.u32(1)) + UInt64(arguments.u32(3)) + UInt64(arguments.u32(5)) + UInt64(arguments.u32(7))
            guard total <= UInt64(state.configuration.maxHostCallPayloadBytes) else {
                throw .limitExceeded(
                    "a host call of \(total) bytes exceeds the limit of \(state.configuration.maxHostCallPayloadBytes) bytes")
            }
            let memory = try state.guestMemory(caller)
            let call = HostCall(
                binding: String(decoding: try memory.read(arguments.u32(0), arguments.u32(1), "__host_call binding"), as: UTF8.self),
                namespace: String(decoding: try memory.read(arguments.u32(2), arguments.u32(3), "__host_call namespace"), as: UTF8.self),
                operation: String(decoding: try memory.read(arguments.u32(4), arguments.u32(5), "__host_call operation"), as: UTF8.self),
                payload: try memory.read(arguments.u32(6), arguments.u32(7), "__host_call payload"))
            do throws(HostCallFailure) {
                state.hostResponse = try state.router.route(call)
                state.hostError = nil
                results[0] = .i32(1)
            } catch {
                state.hostResponse = nil
                state.hostError = Array(error.message.utf8)
                results[0] = .i32(0)
            }
            try state.checkDeadline()
        },
        HostFunction("wapc", "__host_response_len", [], [.i32]) { state, _, _, results throws(WapcError) in
            results[0] = .i32(UInt32(state.hostResponse?.count ?? 0))
        },
        HostFunction("wapc", "__host_response", [.i32], []) { state, caller, arguments, _ throws(WapcError) in
            guard let response = state.hostResponse else {
                throw .guestFault("__host_response called, but the last host call did not succeed (or there was none)")
            }
            try state.guestMemory(caller).write(response, at: arguments.u32(0), "__host_response")
        },
        HostFunction("wapc", "__host_error_len", [], [.i32]) { state, _, _, results throws(WapcError) in
            results[0] = .i32(UInt32(state.hostError?.count ?? 0))
        },
        HostFunction("wapc", "__host_error", [.i32], []) { state, caller, arguments, _ throws(WapcError) in
            guard let error = state.hostError else {
                throw .guestFault("__host_error called, but the last host call did not fail (or there was none)")
            }
            try state.guestMemory(caller).write(error, at: arguments.u32(0), "__host_error")
        },
        // __console_log(ptr, len): a line for the host's log.
        HostFunction("wapc", "__console_log", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            try state.emit(.console, try state.guestMemory(caller), arguments.u32(0), arguments.u32(1), "__console_log")
        },
    ]

    private static func checkResponseSize(_ length: UInt32, _ state: CallState, _ what: String) throws(WapcError) {
        guard length <= state.configuration.maxResponseBytes else {
            throw .limitExceeded("\(what) of \(length) bytes exceeds the limit of \(state.configuration.maxResponseBytes) bytes")
        }
    }
}
