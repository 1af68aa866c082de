/// How a stored log uses the tree: it keeps the hash of every complete subtree (`MerkleTree.Node`)
/// and never recomputes one. An append writes the leaf's hash and those of the subtrees it
/// completes; a root or proof is a fold of at most ~2·log₂ n stored hashes. These functions say
/// which hashes each needs and compute the result from them, so that every storage engine fetches
/// them its own way (one query, a dictionary) and shares the arithmetic.
extension MerkleTree {
    /// The subtree hashes that appending `leaves` to a tree of `size` leaves creates, in order:
    /// each leaf's hash (level 0) and then the hash of every subtree it completes. `edge` holds the
    /// hashes of `nodes(covering: 0, size)` — the complete subtrees on the tree's right edge, the
    /// only old hashes an append combines with.
    public static func appending(_ leaves: [[UInt8]], to size: Int64, edge: [[UInt8]]) throws(LogError) -> [(Node, [UInt8])] {
        let edgeNodes = nodes(covering: 0, size)
        guard edge.count == edgeNodes.count else {
            throw LogError(.corrupt, "\(edge.count) right-edge hashes for a tree of \(size) leaves, which has \(edgeNodes.count)")
        }
        // Hashes of complete subtrees on the right edge that later leaves may combine with, by level.
        var pending: [Int: [UInt8]] = [:]
        for (node, hash) in zip(edgeNodes, edge) { pending[node.level] = hash }
        var created: [(Node, [UInt8])] = []
        for (offset, leaf) in leaves.enumerated() {
            var hash = leafHash(leaf)
            var node = Node(level: 0, index: size + Int64(offset))
            created.append((node, hash))
            // A right child completes its parent.
            while node.index & 1 == 1 {
                guard let left = pending.removeValue(forKey: node.level) else {
                    throw LogError(.corrupt, "no hash for the left sibling of subtree (level \(node.level), index \(node.index))")
                }
                hash = nodeHash(left, hash)
                node = Node(level: node.level + 1, index: node.index >> 1)
                created.append((node, hash))
            }
            pending[node.level] = hash
        }
        return created
    }

    /// The subtrees whose hashes make each element of the inclusion proof of leaf `index` in the
    /// tree of `size` leaves (each element is the right fold of its list).
    public static func inclusionNodes(index: Int64, size: Int64) throws(LogError) -> [[Node]] {
        try inclusionRanges(index: index, size: size).map { nodes(covering: $0.0, $0.1) }
    }

    /// The subtrees whose hashes make each element of the consistency proof from `first` to
    /// `second` leaves.
    public static func consistencyNodes(first: Int64, second: Int64) throws(LogError) -> [[Node]] {
        try consistencyRanges(first: first, second: second).map { nodes(covering: $0.0, $0.1) }
    }

    /// Each list of subtrees folded into one hash, with the hashes from `hashes`. A missing or
    /// malformed hash is `corrupt`: the stored tree has lost a subtree it must have.
    public static func fold(_ lists: [[Node]], hashes: [Node: [UInt8]]) throws(LogError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(lists.count)
        for list in lists {
            var parts: [[UInt8]] = []
            for node in list {
                guard let hash = hashes[node], hash.count == 32 else {
                    throw LogError(.corrupt, "the log has no hash for the subtree at level \(node.level), index \(node.index)")
                }
                parts.append(hash)
            }
            result.append(foldRight(parts))
        }
        return result
    }
}
