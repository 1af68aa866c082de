import Crypto

/// RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, proof generation and verification. Pure: the
/// hashes of complete subtrees come from a caller-supplied function, so the same code serves the
/// SQLite-backed log and in-memory tests.
public enum MerkleTree {
    /// `SHA-256(0x00 ‖ leaf)`.
    public static func leafHash(_ leaf: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(leaf))
        return Array(hasher.finalize())
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root of the empty tree: SHA-256 of nothing.
    public static let emptyRoot: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// A complete subtree: `2^level` leaves starting at leaf `index << level`.
    public struct Node: Hashable, Sendable {
        public let level: Int
        public let index: Int64
        public init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }
    }

    /// The complete subtrees whose right fold is the hash of leaves `start..<end`, left to right.
    /// Valid for the ranges RFC 9162's recursion produces (and every whole tree): `start` is a
    /// multiple of a power of two at least as large as the range.
    public static func nodes(covering start: Int64, _ end: Int64) -> [Node] {
        var nodes: [Node] = []
        var position = start
        while position < end {
            var level = 0
            // Grow while the node stays aligned and inside the range.
            while position & ((Int64(1) << (level + 1)) - 1) == 0, position + (Int64(1) << (level + 1)) <= end { level += 1 }
            nodes.append(Node(level: level, index: position >> level))
            position += Int64(1) << level
        }
        return nodes
    }

    /// Folds subtree hashes from the right: `H(a, H(b, c))`.
    public static func foldRight(_ hashes: [[UInt8]]) -> [UInt8] {
        guard var result = hashes.last else { return emptyRoot }
        for hash in hashes.dropLast().reversed() { result = nodeHash(hash, result) }
        return result
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func split(_ n: Int64) -> Int64 {
        var k: Int64 = 1
        while k < n - k { k <<= 1 }  // k << 1 < n, without overflowing near Int64.max
        return k
    }

    /// The ranges (start, end) whose hashes form the inclusion proof of leaf `index` in a tree
    /// of `size` leaves, leaf level first (RFC 9162 §2.1.3.1 PATH).
    public static func inclusionRanges(index: Int64, size: Int64) throws(LogError) -> [(Int64, Int64)] {
        guard index >= 0, index < size else { throw LogError(.outOfRange, "leaf \(index) is not in a tree of \(size) leaves") }
        var ranges: [(Int64, Int64)] = []
        var (start, end, m) = (Int64(0), size, index)
        while end - start > 1 {
            let k = split(end - start)
            if m < k {
                ranges.append((start + k, end))
                end = start + k
            } else {
                ranges.append((start, start + k))
                start += k
                m -= k
            }
        }
        return ranges.reversed()
    }

    /// The ranges whose hashes form the consistency proof from `first` to `second` leaves, in
    /// proof order (RFC 9162 §2.1.4.1 SUBPROOF).
    public static func consistencyRanges(first: Int64, second: Int64) throws(LogError) -> [(Int64, Int64)] {
        guard first >= 0, first <= second else {
            throw LogError(.outOfRange, "no consistency proof from \(first) to \(second) leaves")
        }
        guard first > 0, first < second else { return [] }
        var ranges: [(Int64, Int64)] = []
        var (start, end, m, complete) = (Int64(0), second, first, true)
        while m != end - start {
            let k = split(end - start)
            if m <= k {
                ranges.append((start + k, end))
                end = start + k
            } else {
                ranges.append((start, start + k))
                start += k
                m -= k
                complete = false
            }
        }
        if !complete { ranges.append((start, end)) }
        return ranges.reversed()
    }

    // MARK: - Verification (RFC 9162 §2.1.3.2, §2.1.4.2)

    /// The root that `proof` leads to from `leafHash` at `index` in a tree of `size` leaves.
    public static func rootFromInclusionProof(index: Int64, size: Int64, leafHash: [UInt8], proof: [[UInt8]]) throws(LogError)
        -> [UInt8]
    {
        guard index >= 0, index < size else { throw LogError(.outOfRange, "leaf \(index) is not in a tree of \(size) leaves") }
        guard leafHash.count == 32, proof.allSatisfy({ $0.count == 32 }) else {
            throw LogError(.invalidProof, "hashes must be 32 bytes")
        }
        var (fn, sn) = (index, size - 1)
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw LogError(.invalidProof, "the inclusion proof is longer than the tree is deep") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw LogError(.invalidProof, "the inclusion proof is shorter than the tree is deep") }
        return r
    }

    /// Checks that leaf `leafHash` is at `index` in the tree of `size` leaves with `root`.
    public static func verifyInclusion(index: Int64, size: Int64, leafHash: [UInt8], proof: [[UInt8]], root: [UInt8]) throws(LogError) {
        let computed = try rootFromInclusionProof(index: index, size: size, leafHash: leafHash, proof: proof)
        guard computed == root else { throw LogError(.invalidProof, "the inclusion proof of leaf \(index) does not lead to the root of tree \(size)") }
    }

    /// Checks that the tree of `second` leaves with `secondRoot` extends the tree of `first`
    /// leaves with `firstRoot`.
    public static func verifyConsistency(
        first: Int64, second: Int64, firstRoot: [UInt8], secondRoot: [UInt8], proof: [[UInt8]]
    ) throws(LogError) {
        guard first >= 0, first <= second else { throw LogError(.inconsistent, "tree \(second) is smaller than tree \(first)") }
        guard proof.allSatisfy({ $0.count == 32 }) else { throw LogError(.invalidProof, "hashes must be 32 bytes") }
        if first == second {
            guard proof.isEmpty, firstRoot == secondRoot else {
                throw LogError(.inconsistent, "two different roots for tree size \(first)")
            }
            return
        }
        if first == 0 {
            guard proof.isEmpty else { throw LogError(.invalidProof, "a proof from the empty tree must be empty") }
            return
        }
        guard !proof.isEmpty else { throw LogError(.invalidProof, "the consistency proof is empty") }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }  // first is a power of two
        var (fn, sn) = (first - 1, second - 1)
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw LogError(.invalidProof, "the consistency proof is too long") }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw LogError(.invalidProof, "the consistency proof is too short") }
        guard fr == firstRoot else { throw LogError(.inconsistent, "the proof does not reproduce the root of tree \(first)") }
        guard sr == secondRoot else { throw LogError(.inconsistent, "the proof does not reproduce the root of tree \(second)") }
    }
}
