#if canImport(Glibc)
import ContentStore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import WasmRPCCore

/// Content-addressed files: `<root>/sha256/ab/abcdef…`, named by the SHA-256 of their bytes.
///
/// A write is a `DurableFile` write: after `write` returns the blob survives a crash, and a crash
/// before that leaves no partial file under a real name. Every read recomputes the hash.
public struct BlobStore: Sendable {
    public let root: String

    /// The store under `root`, whose directories are made unless `create` is false.
    public init(root: String, create: Bool = true) throws(ContentStoreError) {
        self.root = root
        guard create else { return }
        try DurableFile.makeDirectory(root)
        try DurableFile.makeDirectory(root + "/sha256")
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
            where DurableFile.isTemporary(name) {
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
        try DurableFile.makeDirectory("\(root)/sha256/\(id.hex.prefix(2))")
        try DurableFile.write(bytes, to: path(of: id), mode: 0o644)
        return id
    }

    /// The bytes of `id`, after checking that they still hash to it.
    public func read(_ id: ModuleID) throws(ContentStoreError) -> [UInt8] {
        let file = path(of: id)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ContentStoreError(.notFound, "no blob \(id)") }
            throw DurableFile.failure("open \(file)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw DurableFile.failure("read \(file)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        guard ModuleID(of: bytes) == id else {
            throw ContentStoreError(.dataLoss, "the stored bytes of \(id) no longer hash to their id")
        }
        return bytes
    }
}

// The POSIX call under a name that BlobStore's own `read` does not shadow.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }

extension BlobStore: BlobStorage {
    public func put(_ bytes: [UInt8]) async throws(ContentStoreError) -> ModuleID {
        try await blocking { () throws(ContentStoreError) in try write(bytes) }
    }

    public func bytes(of id: ModuleID) async throws(ContentStoreError) -> [UInt8] {
        try await blocking { () throws(ContentStoreError) in try read(id) }
    }
}
