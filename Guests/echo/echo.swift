import WapcGuest

// The host calls `wapc_init` once after instantiation; handlers are registered there.
@_expose(wasm, "wapc_init")
@_cdecl("wapc_init")
func wapcInit() {
    register("echo") { payload in payload }
    register("fail") { payload throws(GuestError) in
        throw GuestError("failed on request: " + String(decoding: payload, as: UTF8.self))
    }
    // Forwards the payload to the host as `binding/namespace/operation` taken from the first three
    // lines of the payload's text, the fourth line being the payload: handy for testing host calls.
    register("forward") { payload throws(GuestError) in
        let parts = payload.split(separator: 10, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw GuestError("forward needs binding\\nnamespace\\noperation\\npayload") }
        func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        return try hostCall(binding: text(parts[0]), namespace: text(parts[1]), operation: text(parts[2]), payload: Array(parts[3]))
    }
    register("log") { payload in
        consoleLog(String(decoding: payload, as: UTF8.self))
        return []
    }
}
