import ContentStore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a data directory: `flock` on its file `serve.lock`, which also names the
/// holder's process id. One server writes a data directory at a time, so that what it keeps in
/// memory of the stored state (`StateCache`) stays true; a second one is refused with the holder's
/// pid. The kernel releases the lock when the holder exits, however it exits; audits, which only
/// read, take no lock.
public final class DirectoryLock: Sendable {
    public static let fileName = "serve.lock"

    private let descriptor: Mutex<Int32?>
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = Mutex(descriptor)
        self.path = path
    }

    /// Takes the lock of `directory` (created if missing), or fails at once if another process —
    /// or another lock in this one — holds it.
    public static func acquire(_ directory: String) throws(ContentStoreError) -> DirectoryLock {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ContentStoreError(.storage, "cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ContentStoreError(.storage, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.holder(descriptor)
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw ContentStoreError(.storage, "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw ContentStoreError(
                .storage,
                "the data directory \(directory) is in use by another wasmrpc server\(holder.map { " (pid \($0))" } ?? ""): "
                    + "stop it first, or give this one another data directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return DirectoryLock(descriptor: descriptor, path: path)
    }

    /// Releases the lock (the file stays); a second call does nothing.
    public func release() {
        guard let descriptor = descriptor.withLock({ descriptor in defer { descriptor = nil }; return descriptor }) else { return }
        close(descriptor)  // which releases the flock
    }

    deinit {
        release()
    }

    /// The pid the lock file names, if it names one.
    private static func holder(_ descriptor: Int32) -> Int? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int(String(decoding: bytes.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
