import Logging

/// Where guest text goes: `__console_log`, WASI `fd_write` to stdout/stderr. Never into a response.
public struct GuestOutput: Sendable {
    public enum Stream: String, Sendable {
        case console, stdout, stderr
    }

    private let write: @Sendable (Stream, [UInt8]) -> Void

    public init(_ write: @escaping @Sendable (Stream, [UInt8]) -> Void) {
        self.write = write
    }

    func callAsFunction(_ stream: Stream, _ bytes: [UInt8]) {
        write(stream, bytes)
    }

    /// Logs each write as one line (trailing newline removed) at `info` for console/stdout and
    /// `warning` for stderr.
    public static func logger(_ logger: Logger = Logger(label: "wasmrpc.guest")) -> GuestOutput {
        GuestOutput { stream, bytes in
            var text = String(decoding: bytes, as: UTF8.self)
            while text.last == "\n" { text.removeLast() }
            guard !text.isEmpty else { return }
            logger.log(level: stream == .stderr ? .warning : .info, "\(text)", metadata: ["stream": "\(stream.rawValue)"])
        }
    }

    /// Drops everything.
    public static let discard = GuestOutput { _, _ in }
}
