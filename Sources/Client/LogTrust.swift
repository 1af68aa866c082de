import Foundation
import TransparencyLog

/// What a client remembers about transparency logs, per origin: the pinned verifier key (trust on
/// first use, or given explicitly) and the newest checkpoint it has verified. Kept as two files per
/// log in `directory` (the CLI uses `$XDG_CONFIG_HOME/wasmrpc/logs`).
public struct LogTrust: Sendable {
    public let directory: String
    /// A key to use instead of the pinned one (`--log-key`); it is pinned once it verifies.
    public let explicitKey: NoteVerifier?

    public init(directory: String, explicitKey: NoteVerifier? = nil) {
        self.directory = directory
        self.explicitKey = explicitKey
    }

    private func path(_ origin: String, _ suffix: String) -> String {
        let safe = String(origin.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
        return "\(directory)/\(safe).\(suffix)"
    }

    public func pinnedKey(origin: String) throws -> NoteVerifier? {
        guard let data = FileManager.default.contents(atPath: path(origin, "vkey")) else { return nil }
        return try NoteVerifier(encoded: String(decoding: data, as: UTF8.self))
    }

    /// The newest checkpoint seen for `origin`, re-verified with `key`.
    public func lastCheckpoint(origin: String, key: NoteVerifier) throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: path(origin, "checkpoint")) else { return nil }
        return try Checkpoint(body: key.verify(String(decoding: data, as: UTF8.self)))
    }

    func remember(key: NoteVerifier, note: String, origin: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data((key.encoded + "\n").utf8).write(to: URL(fileURLWithPath: path(origin, "vkey")), options: .atomic)
        try Data(note.utf8).write(to: URL(fileURLWithPath: path(origin, "checkpoint")), options: .atomic)
    }
}
