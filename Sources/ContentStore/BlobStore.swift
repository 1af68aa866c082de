#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Content-addressed files: `<root>/sha256/ab/abcdef…`, named by the SHA-256 of their bytes.
///
/// A write goes to a temporary file that is fsync'd, renamed into place and followed by an fsync of
/// its directory, so after `write` returns the blob survives a crash, and a crash before that
/// leaves no partial file under a real name. Every read recomputes the hash.
public struct BlobStore: Sendable {
    public let root: String

    public init(root: String) throws(ContentStoreError) {
        self.root = root
        try Self.makeDirectory(root)
        try Self.makeDirectory(root + "/sha256")
    }

    /// Deletes temporary files a crash left behind (a write interrupted before its rename); they
    /// were never acknowledged. Call it only while no write is in flight (the store does, on open).
    /// Returns how many it removed.
    @discardableResult
    public func removeInterruptedWrites() -> Int {
        var removed = 0
        let base = root + "/sha256"
        guard let directories = try? FileManager.default.contentsOfDirectory(atPath: base) else { return 0 }
        for directory in directories {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(directory)")) ?? []
            where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                if unlink("\(base)/\(directory)/\(name)") == 0 { removed += 1 }
            }
        }
        return removed
    }

    public func path(of id: ModuleID) -> String {
        "\(root)/sha256/\(id.hex.prefix(2))/\(id.hex)"
    }

    /// Stores `bytes` durably and returns their id. Storing bytes that are already there (and
    /// still verify) writes nothing.
    @discardableResult
    public func write(_ bytes: [UInt8]) throws(ContentStoreError) -> ModuleID {
        let id = ModuleID(of: bytes)
        if (try? read(id)) != nil { return id }
        let directory = "\(root)/sha256/\(id.hex.prefix(2))"
        try Self.makeDirectory(directory)
        let temporary = "\(directory)/.\(id.hex).\(UInt64.random(in: 0 ... .max)).tmp"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure("create \(temporary)") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return fsync(fd) == 0 }
            while written < buffer.count {
                let result = systemWrite(fd, base + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += result
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok else {
            unlink(temporary)
            throw Self.failure("write \(temporary)")
        }
        guard rename(temporary, path(of: id)) == 0 else {
            unlink(temporary)
            throw Self.failure("rename into \(path(of: id))")
        }
        try Self.syncDirectory(directory)
        return id
    }

    /// The bytes of `id`, after checking that they still hash to it.
    public func read(_ id: ModuleID) throws(ContentStoreError) -> [UInt8] {
        let file = path(of: id)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ContentStoreError(.notFound, "no blob \(id)") }
            throw Self.failure("open \(file)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.failure("read \(file)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        guard ModuleID(of: bytes) == id else {
            throw ContentStoreError(.dataLoss, "the stored bytes of \(id) no longer hash to their id")
        }
        return bytes
    }

    private static func failure(_ what: String) -> ContentStoreError {
        ContentStoreError(.storage, "cannot \(what): \(String(cString: strerror(errno)))")
    }

    private static func makeDirectory(_ path: String) throws(ContentStoreError) {
        if mkdir(path, 0o755) == 0 {
            // A new directory entry is durable only once its parent is synced.
            let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            try syncDirectory(parent.isEmpty ? "/" : parent)
        } else if errno != EEXIST {
            throw failure("create directory \(path)")
        }
    }

    private static func syncDirectory(_ path: String) throws(ContentStoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("sync directory \(path)") }
    }
}

// The POSIX calls under names that BlobStore's own `write`/`read` do not shadow.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
