import Testing
@testable import HTTPFrontDoor

/// C2SP tlog-tiles paths: what parses, what does not (one canonical name per resource), and which
/// tiles a tree of a given size has.
struct LogTilesTests {
    private func parse(_ path: String) -> TileResource? {
        TileResource(path: path.split(separator: "/", omittingEmptySubsequences: false))
    }

    @Test func canonicalPathsParseAndPrintBack() {
        let cases: [(String, TileResource)] = [
            ("checkpoint", TileResource(kind: .checkpoint)),
            ("tile/0/000", TileResource(kind: .hashes(level: 0), index: 0)),
            ("tile/1/067", TileResource(kind: .hashes(level: 1), index: 67)),
            ("tile/0/x001/x234/067", TileResource(kind: .hashes(level: 0), index: 1_234_067)),
            ("tile/0/x001/000.p/8", TileResource(kind: .hashes(level: 0), index: 1000, width: 8)),
            ("tile/entries/005.p/255", TileResource(kind: .entries, index: 5, width: 255)),
            ("tile/entries/x010/000", TileResource(kind: .entries, index: 10_000)),
        ]
        for (path, resource) in cases {
            #expect(parse(path) == resource, "\(path)")
            #expect(resource.path == path)
        }
    }

    @Test func otherPathsDoNot() {
        for path in [
            "", "checkpoint/", "tile", "tile/0", "tile/0/", "tile/0/5", "tile/0/0005", "tile/0/x000/005", "tile/0/001/002",
            "tile/0/x1/002", "tile/0/00a", "tile/-1/000", "tile/8/000", "tile/01/000", "tile/0/000.p/0", "tile/0/000.p/256",
            "tile/0/000.p/08", "tile/0/000.p", "tile/entries/000.p/", "tile/x/000", "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            #expect(parse(path) == nil, "\(path)")
        }
    }

    @Test func aTreeHasFullTilesAndOnePartialPerLevel() {
        // 300 leaves: entry/level-0 tile 0 full, tile 1 with 44; level 1 has one node: partial width 1.
        #expect(LogTiles.count(TileResource(kind: .entries, index: 0), available: 300) == 256)
        #expect(LogTiles.count(TileResource(kind: .entries, index: 1), available: 300) == nil)
        #expect(LogTiles.count(TileResource(kind: .entries, index: 1, width: 44), available: 300) == 44)
        #expect(LogTiles.count(TileResource(kind: .entries, index: 1, width: 10), available: 300) == 10)
        #expect(LogTiles.count(TileResource(kind: .entries, index: 1, width: 45), available: 300) == nil)
        #expect(LogTiles.count(TileResource(kind: .hashes(level: 1), index: 0, width: 1), available: 300 >> 8) == 1)
        #expect(LogTiles.count(TileResource(kind: .entries, index: Int64.max / 1000), available: 300) == nil)
    }

    @Test func fullTilesAreKeptUpToTheirByteBoundOldestOutFirst() {
        let cache = FullTiles(maxBytes: 3 * 8192)
        let tiles = (0..<4).map { TileResource(kind: .hashes(level: 0), index: Int64($0)) }
        for (number, tile) in tiles.enumerated() { cache.keep([UInt8](repeating: UInt8(number), count: 8192), for: tile) }
        #expect(cache.count == 3)
        #expect(cache.tile(tiles[0]) == nil)
        #expect(cache.tile(tiles[3]) == [UInt8](repeating: 3, count: 8192))
        // A tile kept already stays as it was; one larger than the bound is not kept.
        cache.keep([9], for: tiles[3])
        #expect(cache.tile(tiles[3])?.count == 8192)
        cache.keep([UInt8](repeating: 0, count: 4 * 8192), for: TileResource(kind: .entries))
        #expect(cache.count == 3 && cache.tile(TileResource(kind: .entries)) == nil)
    }
}
