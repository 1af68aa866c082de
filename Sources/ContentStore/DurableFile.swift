#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files written so that a crash leaves either the whole new file under its name or nothing: the
/// bytes go to a temporary file beside it (`.NAME.RANDOM.tmp`, created with the final mode), which
/// is fsync'd, renamed into place, and followed by an fsync of the directory.
package enum DurableFile {
    /// Writes `bytes` to `path` as described above. `path`'s directory must exist.
    package static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(ContentStoreError) {
        let (directory, name) = split(path)
        let temporary = "\(directory)/.\(name).\(UInt64.random(in: 0 ... .max)).tmp"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        // The mode asked for, whatever the process's umask let `open` set.
        var ok = fchmod(fd, mode) == 0
        var written = 0
        if ok {
            ok = bytes.withUnsafeBytes { buffer in
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
        }
        close(fd)
        guard ok else {
            let error = failure("write \(temporary)")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("rename into \(path)")
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Whether `name` is one of `write`'s temporary files.
    package static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp")
    }

    /// Creates `path` if it is missing; a new directory is made durable by syncing its parent.
    package static func makeDirectory(_ path: String) throws(ContentStoreError) {
        if mkdir(path, 0o755) == 0 {
            let (parent, _) = split(path)
            try syncDirectory(parent)
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

    /// A `storage` error for `what`, with errno's text.
    package static func failure(_ what: String) -> ContentStoreError {
        ContentStoreError(.storage, "cannot \(what): \(String(cString: strerror(errno)))")
    }

    /// (directory, last component) of `path`; the directory of a bare name is ".".
    private static func split(_ path: String) -> (String, String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return (".", path) }
        let directory = parts.dropLast().joined(separator: "/")
        return (directory.isEmpty ? "/" : directory, String(parts[parts.count - 1]))
    }
}

// The POSIX call under a name that `DurableFile.write` does not shadow.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
