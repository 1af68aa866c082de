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
            guard state.guestResponse == nil else { throw .guestFault("the guest called __guest_response twice in one call") }
            state.guestResponse = try readAnswer(state, caller, arguments, "__guest_response")
        },
        // __guest_error(ptr, len): the guest's error message.
        HostFunction("wapc", "__guest_error", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            guard state.guestError == nil else { throw .guestFault("the guest called __guest_error twice in one call") }
            state.guestError = try readAnswer(state, caller, arguments, "__guest_error")
        },
        // __host_call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len) -> 1 ok / 0 error
        HostFunction("wapc", "__host_call", [.i32, .i32, .i32, .i32, .i32, .i32, .i32, .i32], [.i32]) {
            state, caller, arguments, results throws(WapcError) in
            let memory = try state.guestMemory(caller)
            let binding = (arguments.u32(0), arguments.u32(1))
            results[0] = .i32(try hostCall(state, memory, binding, arguments, from: 2))
        },
        // The legacy form without a binding (older AssemblyScript and Rust guests):
        // __host_call(ns_ptr, ns_len, op_ptr, op_len, ptr, len). The binding is empty.
        HostFunction("wapc", "__host_call", [.i32, .i32, .i32, .i32, .i32, .i32], [.i32]) {
            state, caller, arguments, results throws(WapcError) in
            let memory = try state.guestMemory(caller)
            results[0] = .i32(try hostCall(state, memory, nil, arguments, from: 0))
        },
        HostFunction("wapc", "__host_response_len", [], [.i32]) { state, _, _, results throws(WapcError) in
            results[0] = .i32(UInt32(state.hostResponse?.count ?? 0))
        },
        HostFunction("wapc", "__host_response", [.i32], []) { state, caller, arguments, _ throws(WapcError) in
            try deliver(state.hostResponse, to: arguments.u32(0), state, caller, "__host_response", "succeed")
        },
        HostFunction("wapc", "__host_error_len", [], [.i32]) { state, _, _, results throws(WapcError) in
            results[0] = .i32(UInt32(state.hostError?.count ?? 0))
        },
        HostFunction("wapc", "__host_error", [.i32], []) { state, caller, arguments, _ throws(WapcError) in
            try deliver(state.hostError, to: arguments.u32(0), state, caller, "__host_error", "fail")
        },
        // __console_log(ptr, len): a line for the host's log.
        HostFunction("wapc", "__console_log", [.i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            try state.emit(.console, try state.guestMemory(caller), arguments.u32(0), arguments.u32(1), "__console_log")
        },
    ]

    /// Reads a host call from guest memory (namespace, operation and payload as (pointer, length)
    /// pairs starting at argument `first`), routes it, and keeps the answer for
    /// `__host_response`/`__host_error`. Returns 1 on success, 0 on a host error.
    private static func hostCall(
        _ state: CallState, _ memory: GuestMemory, _ binding: (UInt32, UInt32)?, _ arguments: UnsafeBufferPointer<Value>,
        from first: Int
    ) throws(WapcError) -> UInt32 {
        try state.checkDeadline()
        state.hostCalls += 1
        guard state.hostCalls <= state.configuration.maxHostCalls else {
            throw .limitExceeded("the guest made more than \(state.configuration.maxHostCalls) host calls in one call")
        }
        let lengths = [binding?.1 ?? 0, arguments.u32(first + 1), arguments.u32(first + 3), arguments.u32(first + 5)]
        let total = lengths.reduce(UInt64(0)) { $0 + UInt64($1) }
        guard total <= UInt64(state.configuration.maxHostCallPayloadBytes) else {
            throw .limitExceeded(
                "a host call of \(total) bytes exceeds the limit of \(state.configuration.maxHostCallPayloadBytes) bytes")
        }
        func text(_ pointer: UInt32, _ length: UInt32, _ what: StaticString) throws(WapcError) -> String {
            try memory.text(pointer, length, what)
        }
        let call = HostCall(
            binding: try binding.map { (pointer, length) throws(WapcError) in try text(pointer, length, "__host_call binding") } ?? "",
            namespace: try text(arguments.u32(first), arguments.u32(first + 1), "__host_call namespace"),
            operation: try text(arguments.u32(first + 2), arguments.u32(first + 3), "__host_call operation"),
            payload: try memory.read(arguments.u32(first + 4), arguments.u32(first + 5), "__host_call payload"),
            module: state.configuration.moduleLabel, context: state.context.capability)
        let succeeded: Bool
        do throws(HostCallFailure) {
            state.hostResponse = try state.router.route(call, admitLog: state.admitLogLine)
            state.hostError = nil
            succeeded = true
        } catch where error.endsCall {
            throw WapcError(.endedByHost, error.message)
        } catch {
            state.hostResponse = nil
            state.hostError = Array(error.message.utf8)
            succeeded = false
        }
        try state.checkDeadline()
        return succeeded ? 1 : 0
    }

    /// `__guest_response`/`__guest_error`: reads the guest's bytes, within the size limit.
    private static func readAnswer(
        _ state: CallState, _ caller: borrowing Caller, _ arguments: UnsafeBufferPointer<Value>, _ what: StaticString
    ) throws(WapcError) -> [UInt8] {
        let (pointer, length) = (arguments.u32(0), arguments.u32(1))
        let memory = try state.guestMemory(caller)
        try memory.check(pointer, UInt64(length), what)
        guard length <= state.configuration.maxResponseBytes else {
            throw .limitExceeded("\(what) of \(length) bytes exceeds the limit of \(state.configuration.maxResponseBytes) bytes")
        }
        return try memory.read(pointer, length, what)
    }

    /// `__host_response`/`__host_error`: copies the last host call's answer into the guest.
    private static func deliver(
        _ answer: [UInt8]?, to pointer: UInt32, _ state: CallState, _ caller: borrowing Caller, _ what: StaticString,
        _ outcome: String
    ) throws(WapcError) {
        guard let answer else {
            throw .guestFault("\(what) called, but the last host call did not \(outcome) (or there was none)")
        }
        try state.guestMemory(caller).write(answer, at: pointer, what)
    }
}
