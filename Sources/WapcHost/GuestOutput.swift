import Logging

/// Where guest text goes: `__console_log`, WASI `fd_write` to stdout/stderr. Never into a response.
public struct GuestOutput: Sendable {
    public enum Stream: String, Sendable {
        case console, stdout, stderr
    }

    /// Gets each write with the module's label (`WapcConfiguration.moduleLabel`).
    private let write: @Sendable (Stream, [UInt8], String?) -> Void

    public init(_ write: @escaping @Sendable (Stream, [UInt8]) -> Void) {
        self.write = { stream, bytes, _ in write(stream, bytes) }
    }

    private init(labelled write: @escaping @Sendable (Stream, [UInt8], String?) -> Void) {
        self.write = write
    }

    func callAsFunction(_ stream: Stream, _ bytes: [UInt8], module: String?) {
        write(stream, bytes, module)
    }

    /// Logs each write as one line (trailing newline removed) at `info` for console/stdout and
    /// `warning` for stderr, with the stream and the module's label as metadata.
    public static func logger(_ logger: Logger = Logger(label: "wasmrpc.guest")) -> GuestOutput {
        GuestOutput(labelled: { stream, bytes, module in
            var text = String(decoding: bytes, as: UTF8.self)
            while text.last == "\n" { text.removeLast() }
            guard !text.isEmpty else { return }
            var metadata: Logger.Metadata = ["stream": "\(stream.rawValue)"]
            if let module { metadata["module"] = "\(module)" }
            logger.log(level: stream == .stderr ? .warning : .info, "\(text)", metadata: metadata)
        })
    }

    /// Drops everything.
    public static let discard = GuestOutput { _, _ in }
}
