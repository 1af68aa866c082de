import Synchronization
import WasmRPCCore

/// Committed state values kept in memory in front of an engine's `StateReader`, so that a guest's
/// read of a key read before costs a dictionary lookup instead of a database read (for SQLite: a
/// read transaction, with its file locks, and a SELECT).
///
/// It is right only while every commit to the state goes through the `ContentStore` that holds it:
/// `commit` tells it which keys changed (`committed`) before anyone learns of the commit, and forgets
/// whole modules if a commit failed in a way that leaves its outcome unknown (`forget`). A
/// `ContentStore` has one only when it is opened with `cachingState`, which `serve` does while it
/// holds its data directory's lock (`DirectoryLock`): no other process writes that state then.
///
/// A read that missed records its value only if no commit happened while it read (the generation
/// is unchanged), so a value read before a commit cannot be kept after it. Values larger than
/// `maxValueBytes` are not kept; when the kept bytes pass `maxBytes`, everything is dropped (a
/// working set that does not fit costs database reads again, nothing more). Ranges are read from
/// the engine each time.
public final class StateCache: StateReader {
    private struct Key: Hashable {
        let module: ModuleID
        let key: [UInt8]
    }

    private struct Contents {
        var values: [Key: [UInt8]?] = [:]
        var bytes = 0
        /// Counts commits (and forgets): a read that began in an older one records nothing.
        var generation: UInt64 = 0
    }

    private let base: any StateReader
    private let contents = Mutex(Contents())
    /// The bytes kept at most (keys, values and a per-entry overhead).
    public let maxBytes: Int
    public static let maxValueBytes = 64 << 10
    private static let entryOverhead = 64

    public init(base: any StateReader, maxBytes: Int = 32 << 20) {
        self.base = base
        self.maxBytes = maxBytes
    }

    public func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? {
        let wanted = Key(module: owner, key: key)
        let (kept, generation) = contents.withLock { ($0.values[wanted], $0.generation) }
        if let kept { return kept }
        let value = try base.value(owner, key: key)
        let size = key.count + (value?.count ?? 0) + Self.entryOverhead
        if (value?.count ?? 0) <= Self.maxValueBytes, size <= maxBytes {
            contents.withLock { contents in
                guard contents.generation == generation, contents.values[wanted] == nil else { return }
                if contents.bytes + size > maxBytes {
                    contents.values.removeAll(keepingCapacity: true)
                    contents.bytes = 0
                }
                contents.values[wanted] = .some(value)
                contents.bytes += size
            }
        }
        return value
    }

    public func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] {
        try base.range(owner, start: start, end: end, limit: limit)
    }

    /// `keys` of each module changed: forgets them.
    func committed(_ keys: [ModuleID: [[UInt8]]]) {
        contents.withLock { contents in
            contents.generation &+= 1
            for (module, keys) in keys {
                for key in keys { Self.remove(Key(module: module, key: key), from: &contents) }
            }
        }
    }

    /// Forgets everything kept of `modules`.
    func forget(_ modules: Set<ModuleID>) {
        contents.withLock { contents in
            contents.generation &+= 1
            let forgotten = contents.values.keys.filter { modules.contains($0.module) }
            for key in forgotten { Self.remove(key, from: &contents) }
        }
    }

    /// How many values it keeps (for tests).
    var count: Int { contents.withLock { $0.values.count } }

    private static func remove(_ key: Key, from contents: inout Contents) {
        guard let removed = contents.values.removeValue(forKey: key) else { return }
        contents.bytes -= key.key.count + (removed?.count ?? 0) + entryOverhead
    }
}
