import WasmKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal, sandboxed `wasi_snapshot_preview1`, enough for guests built with TinyGo, Rust's
/// wasip1 target and wasi-libc: stdout/stderr go to the guest output (never into a response);
/// stdin is empty; there are no files, preopens, arguments or environment; clocks
/// and randomness are the call's (`CallContext`: real, unless the call fixes them so that it can be
/// replayed); `proc_exit` ends the call with `WapcError.Code.exited`. Anything else answers
/// `ENOSYS`/`EBADF`/`ENOTCAPABLE` rather than failing to link.
enum WASIPreview1 {
    private static let module = "wasi_snapshot_preview1"

    enum Errno: UInt32 {
        case success = 0, badf = 8, inval = 28, nosys = 52, spipe = 70, notcapable = 76
    }

    private static func answer(_ results: UnsafeMutableBufferPointer<Value>, _ errno: Errno) {
        results[0] = .i32(errno.rawValue)
    }

    private static func noArguments(_ name: String) -> HostFunction {
        // args_sizes_get / environ_sizes_get: zero entries, zero bytes.
        HostFunction(module, name, [.i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            let memory = try state.guestMemory(caller)
            try memory.writeUInt32(0, at: arguments.u32(0), "wasi count")
            try memory.writeUInt32(0, at: arguments.u32(1), "wasi buffer size")
            answer(results, .success)
        }
    }

    private static func fixed(_ name: String, _ parameters: [ValueType], _ errno: Errno) -> HostFunction {
        HostFunction(module, name, parameters, [.i32]) { _, _, _, results throws(WapcError) in answer(results, errno) }
    }

    static let functions: [HostFunction] = [
        noArguments("args_sizes_get"),
        noArguments("environ_sizes_get"),
        fixed("args_get", [.i32, .i32], .success),
        fixed("environ_get", [.i32, .i32], .success),
        fixed("fd_close", [.i32], .badf),
        fixed("fd_prestat_get", [.i32, .i32], .badf),  // no preopened directories
        fixed("fd_prestat_dir_name", [.i32, .i32, .i32], .badf),
        fixed("fd_fdstat_set_flags", [.i32, .i32], .nosys),
        fixed("fd_filestat_get", [.i32, .i32], .badf),
        fixed("path_open", [.i32, .i32, .i32, .i32, .i32, .i64, .i64, .i32, .i32], .notcapable),
        fixed("poll_oneoff", [.i32, .i32, .i32, .i32], .nosys),
        fixed("sched_yield", [], .success),
        HostFunction(module, "fd_seek", [.i32, .i64, .i32, .i32], [.i32]) { _, _, arguments, results throws(WapcError) in
            answer(results, arguments.u32(0) <= 2 ? .spipe : .badf)
        },
        HostFunction(module, "fd_fdstat_get", [.i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            let fd = arguments.u32(0)
            guard fd <= 2 else { return answer(results, .badf) }
            // filetype u8 = character device (2), flags u16 = 0, rights u64: fd_read (2) for
            // stdin, fd_write (64) for stdout/stderr; no seek/tell, so wasi-libc sees a terminal
            // and line-buffers output.
            var stat = [UInt8](repeating: 0, count: 24)
            stat[0] = 2
            stat[8] = fd == 0 ? 2 : 64
            try state.guestMemory(caller).write(stat, at: arguments.u32(1), "fd_fdstat_get")
            answer(results, .success)
        },
        HostFunction(module, "fd_write", [.i32, .i32, .i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            let stream: GuestOutput.Stream
            switch arguments.u32(0) {
            case 1: stream = .stdout
            case 2: stream = .stderr
            default: return answer(results, .badf)
            }
            let memory = try state.guestMemory(caller)
            let vectors = try ioVectors(memory, arguments.u32(1), arguments.u32(2))
            var written: UInt64 = 0
            for (pointer, length) in vectors {
                try state.emit(stream, memory, pointer, length, "fd_write buffer")
                written += UInt64(length)
            }
            try memory.writeUInt32(UInt32(clamping: written), at: arguments.u32(3), "fd_write nwritten")
            answer(results, .success)
        },
        HostFunction(module, "fd_read", [.i32, .i32, .i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            guard arguments.u32(0) == 0 else { return answer(results, .badf) }
            // stdin is always at its end.
            try state.guestMemory(caller).writeUInt32(0, at: arguments.u32(3), "fd_read nread")
            answer(results, .success)
        },
        HostFunction(module, "clock_res_get", [.i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            guard arguments.u32(0) <= 3 else { return answer(results, .inval) }
            try state.guestMemory(caller).writeUInt64(1, at: arguments.u32(1), "clock_res_get")
            answer(results, .success)
        },
        HostFunction(module, "clock_time_get", [.i32, .i64, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            guard let now = clockNanoseconds(arguments.u32(0), fixed: state.context.fixedTime) else { return answer(results, .inval) }
            try state.guestMemory(caller).writeUInt64(now, at: arguments.u32(2), "clock_time_get")
            answer(results, .success)
        },
        HostFunction(module, "random_get", [.i32, .i32], [.i32]) { state, caller, arguments, results throws(WapcError) in
            let memory = try state.guestMemory(caller)
            try memory.check(arguments.u32(0), UInt64(arguments.u32(1)), "random_get")
            var bytes = [UInt8](repeating: 0, count: Int(arguments.u32(1)))
            let source: any RandomSource = state.context.random ?? SystemRandomSource()
            bytes.withUnsafeMutableBytes { source.fill($0) }
            try memory.write(bytes, at: arguments.u32(0), "random_get")
            answer(results, .success)
        },
        HostFunction(module, "proc_exit", [.i32], []) { state, _, arguments, _ throws(WapcError) in
            state.exitCode = arguments.u32(0)
            throw WapcError(.exited, "the guest called proc_exit(\(Int32(bitPattern: arguments.u32(0))))")
        },
    ]

    /// Reads `count` (pointer, length) pairs of a WASI iovec array.
    private static func ioVectors(_ memory: GuestMemory, _ pointer: UInt32, _ count: UInt32) throws(WapcError) -> [(UInt32, UInt32)] {
        try memory.check(pointer, UInt64(count) * 8, "iovec array")
        var vectors: [(UInt32, UInt32)] = []
        vectors.reserveCapacity(Int(count))
        for index in 0..<count {
            let entry = pointer + index * 8
            vectors.append((try memory.readUInt32(entry, "iovec"), try memory.readUInt32(entry + 4, "iovec")))
        }
        return vectors
    }

    /// realtime (0), monotonic (1), process (2) and thread (3) CPU time, in nanoseconds. With
    /// `fixed`, realtime and monotonic read it and the CPU-time clocks read 0.
    private static func clockNanoseconds(_ id: UInt32, fixed: UInt64?) -> UInt64? {
        if let fixed {
            guard id <= 3 else { return nil }
            return id <= 1 ? fixed : 0
        }
        let clock: clockid_t
        switch id {
        case 0: clock = CLOCK_REALTIME
        case 1: clock = CLOCK_MONOTONIC
        case 2: clock = CLOCK_PROCESS_CPUTIME_ID
        case 3: clock = CLOCK_THREAD_CPUTIME_ID
        default: return nil
        }
        var time = timespec()
        guard clock_gettime(clock, &time) == 0 else { return nil }
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
