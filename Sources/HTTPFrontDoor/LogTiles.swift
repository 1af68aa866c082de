import ContentStore
import Synchronization
import TransparencyLog
import WasmRPCCore

/// A C2SP tlog-tiles resource of the log: `checkpoint`, `tile/<L>/<N>[.p/<W>]` (the hashes of
/// the tree's nodes at level 8·L, indices 256·N ..< 256·N + W) or `tile/entries/<N>[.p/<W>]` (the
/// leaves 256·N ..< 256·N + W). N is written in groups of three digits, every group but the last
/// with an `x` before it (`x001/x234/067` is 1234067); W, from 1 to 255, marks a partial tile.
/// Only canonical paths parse, so that each resource has one name (and one cache entry).
struct TileResource: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case checkpoint
        /// Hashes of level `level` (tree level 8·level).
        case hashes(level: Int)
        case entries
    }

    var kind: Kind
    var index: Int64 = 0
    /// 256 for a full tile.
    var width = 256

    static let tileWidth = 256

    /// The resource named by `path`'s components (after the log's prefix), or nil.
    init?(path components: [Substring]) {
        guard let first = components.first else { return nil }
        if components == ["checkpoint"] {
            kind = .checkpoint
            return
        }
        guard first == "tile", components.count >= 3 else { return nil }
        if components[1] == "entries" {
            kind = .entries
        } else {
            guard let level = Self.decimal(components[1]), level <= 7 else { return nil }
            kind = .hashes(level: Int(level))
        }
        var elements = Array(components.dropFirst(2))
        // A partial tile: the last index element ends in ".p" and the width follows.
        if elements.count >= 2, elements[elements.count - 2].hasSuffix(".p") {
            guard let width = Self.decimal(elements.removeLast()), (1..<256).contains(width) else { return nil }
            self.width = Int(width)
            elements[elements.count - 1] = elements[elements.count - 1].dropLast(2)
        }
        var index: Int64 = 0
        for (position, element) in elements.enumerated() {
            let last = position == elements.count - 1
            let digits = last ? element : element.dropFirst()
            guard last || element.first == "x", digits.count == 3, digits.allSatisfy(\.isASCII), let group = Int64(digits),
                digits.allSatisfy({ $0.isNumber })
            else { return nil }
            // No leading all-zero groups: 5 is "005", never "x000/005".
            if position == 0, !last, group == 0 { return nil }
            guard index <= (Int64.max - group) / 1000 else { return nil }
            index = index * 1000 + group
        }
        guard !elements.isEmpty else { return nil }
        self.index = index
    }

    init(kind: Kind, index: Int64 = 0, width: Int = 256) {
        self.kind = kind
        self.index = index
        self.width = width
    }

    /// A decimal number without sign or leading zeros.
    private static func decimal(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), text == "0" || text.first != "0" else { return nil }
        return Int64(text)
    }

    /// The path of this resource (what `init(path:)` parses).
    var path: String {
        switch kind {
        case .checkpoint: return "checkpoint"
        case .hashes(let level): return "tile/\(level)/" + Self.indexPath(index, width: width)
        case .entries: return "tile/entries/" + Self.indexPath(index, width: width)
        }
    }

    static func indexPath(_ index: Int64, width: Int) -> String {
        var groups = [String(format3(index % 1000))]
        var rest = index / 1000
        while rest > 0 {
            groups.insert("x" + format3(rest % 1000), at: 0)
            rest /= 1000
        }
        return groups.joined(separator: "/") + (width < tileWidth ? ".p/\(width)" : "")
    }

    private static func format3(_ number: Int64) -> String {
        let text = String(number)
        return String(repeating: "0", count: 3 - text.count) + text
    }

    var isFull: Bool { width == Self.tileWidth }
}

/// Serves the log as C2SP tlog-tiles from the store: tiles of the tree that the newest signed
/// checkpoint covers, computed from the stored leaves and subtree hashes. Full tiles never change,
/// so they are kept once built (`FullTiles`, up to `cacheBytes`); the checkpoint and partial tiles
/// are read each time.
struct LogTiles: Sendable {
    let store: ContentStore
    private let cache: FullTiles

    static let defaultCacheBytes = 32 << 20

    init(store: ContentStore, cacheBytes: Int = LogTiles.defaultCacheBytes) {
        self.store = store
        cache = FullTiles(maxBytes: cacheBytes)
    }

    enum Answer: Equatable {
        case checkpoint(String)
        case tile([UInt8])
        case notFound(String)
    }

    func answer(_ resource: TileResource) async throws(ContentStoreError) -> Answer {
        if resource.isFull, resource.kind != .checkpoint, let bytes = cache.tile(resource) { return .tile(bytes) }
        let answer = try await build(resource)
        if resource.isFull, resource.kind != .checkpoint, case .tile(let bytes) = answer { cache.keep(bytes, for: resource) }
        return answer
    }

    private func build(_ resource: TileResource) async throws(ContentStoreError) -> Answer {
        let (size, note) = try await store.checkpoint()
        switch resource.kind {
        case .checkpoint:
            return .checkpoint(note)
        case .hashes(let level):
            // Nodes at tree level 8·level that the checkpoint's tree completes.
            let available = size >> (8 * level)
            guard let count = Self.count(resource, available: available) else {
                return .notFound("the tree of \(size) leaves has no tile \(resource.path)")
            }
            let nodes = (0..<Int64(count)).map { MerkleTree.Node(level: 8 * level, index: resource.index * 256 + $0) }
            let hashes = try await store.engine.reads.subtrees(Set(nodes))
            var bytes: [UInt8] = []
            bytes.reserveCapacity(32 * nodes.count)
            for node in nodes {
                guard let hash = hashes[node] else { throw ContentStoreError(.dataLoss, "the log has no stored hash for \(node)") }
                bytes += hash
            }
            return .tile(bytes)
        case .entries:
            guard let count = Self.count(resource, available: size) else {
                return .notFound("the log of \(size) leaves has no tile \(resource.path)")
            }
            let leaves = try await store.logEntries(start: resource.index * 256, count: count)
            guard leaves.count == count else { throw ContentStoreError(.dataLoss, "the log is missing leaves of \(resource.path)") }
            var bytes: [UInt8] = []
            for leaf in leaves {
                guard leaf.count <= Int(UInt16.max) else {
                    throw ContentStoreError(.dataLoss, "a leaf of \(resource.path) is too long for an entry bundle")
                }
                bytes += [UInt8(leaf.count >> 8), UInt8(leaf.count & 0xFF)] + leaf
            }
            return .tile(bytes)
        }
    }

    /// How many hashes or entries the tile has, if the tree has it: a full tile once the tree
    /// covers all 256; a partial one of width W while the tree covers at least W of them (a
    /// partial tile stays valid as the tree grows).
    static func count(_ resource: TileResource, available: Int64) -> Int? {
        guard resource.index <= available / 256 else { return nil }
        return available - resource.index * 256 >= Int64(resource.width) ? resource.width : nil
    }
}

/// Full tiles already built, by resource, up to `maxBytes` of tile data (the oldest go first).
final class FullTiles: Sendable {
    private struct State {
        var tiles: [TileResource: [UInt8]] = [:]
        var order: [TileResource] = []
        var bytes = 0
    }

    private let state = Mutex(State())
    let maxBytes: Int

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    func tile(_ resource: TileResource) -> [UInt8]? {
        state.withLock { $0.tiles[resource] }
    }

    func keep(_ bytes: [UInt8], for resource: TileResource) {
        guard bytes.count <= maxBytes else { return }
        state.withLock { state in
            guard state.tiles[resource] == nil else { return }
            while state.bytes + bytes.count > maxBytes, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                state.bytes -= state.tiles.removeValue(forKey: oldest)?.count ?? 0
            }
            state.tiles[resource] = bytes
            state.order.append(resource)
            state.bytes += bytes.count
        }
    }

    var count: Int { state.withLock { $0.tiles.count } }
}
