import TransparencyLog

/// The Merkle log on any engine: roots and proofs from stored subtree hashes (fetched in one
/// `subtrees` call each), appends that store each leaf with the subtrees it completes (O(log n)
/// hashes), and checkpoints signed over the stored root. The arithmetic is `MerkleTree`'s.
extension StorageReads {
    /// The root of the tree of the first `size` leaves.
    public func root(size: Int64) async throws(ContentStoreError) -> [UInt8] {
        guard size >= 0 else { throw ContentStoreError(.invalidArgument, "no tree has \(size) leaves") }
        return try await folded([MerkleTree.nodes(covering: 0, size)], size: size)[0]
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    public func inclusionProof(index: Int64, size: Int64) async throws(ContentStoreError) -> [[UInt8]] {
        try await folded(logging { () throws(LogError) in try MerkleTree.inclusionNodes(index: index, size: size) }, size: size)
    }

    /// The consistency proof from the tree of `first` leaves to the tree of `second`.
    public func consistencyProof(first: Int64, second: Int64) async throws(ContentStoreError) -> [[UInt8]] {
        try await folded(logging { () throws(LogError) in try MerkleTree.consistencyNodes(first: first, second: second) }, size: second)
    }

    /// The lists of subtrees of the tree of `size` leaves, each folded into one hash: one read.
    /// A subtree that is not stored means the tree is smaller than `size` (the caller's
    /// `invalidArgument`, told apart by a second read only then) or damaged (`dataLoss`).
    /// (A request that needs no subtree at all, such as a proof in a one-leaf tree, is checked
    /// against the log's size directly.)
    fileprivate func folded(_ lists: [[MerkleTree.Node]], size: Int64) async throws(ContentStoreError) -> [[UInt8]] {
        let nodes = Set(lists.joined())
        if nodes.isEmpty { try await checkSize(size) }
        let hashes = try await subtrees(nodes)
        do throws(LogError) {
            return try MerkleTree.fold(lists, hashes: hashes)
        } catch {
            try await checkSize(size)
            throw ContentStoreError(.dataLoss, error.message)
        }
    }

    private func checkSize(_ size: Int64) async throws(ContentStoreError) {
        let current = try await logSize()
        guard size <= current else { throw ContentStoreError(.invalidArgument, "the log has \(current) leaves, not \(size)") }
    }
}

extension StorageTransaction {
    /// Appends leaves in order and returns the index of the first.
    @discardableResult
    public func append(_ leaves: [[UInt8]]) async throws(ContentStoreError) -> Int64 {
        let size = try await logSize()
        let edge = try await folded(MerkleTree.nodes(covering: 0, size).map { [$0] }, size: size)
        let created = try logging { () throws(LogError) in try MerkleTree.appending(leaves, to: size, edge: edge) }
        try await insertLeaves(leaves, first: size)
        try await insertSubtrees(created)
        return size
    }

    /// Signs the checkpoint of the first `size` leaves with `identity`, stores it, and returns its
    /// signed note.
    @discardableResult
    public func signCheckpoint(size: Int64, _ identity: LogIdentity) async throws(ContentStoreError) -> String {
        let root = try await root(size: size)
        let note = try logging { () throws(LogError) in
            try identity.signer.sign(Checkpoint(origin: identity.origin, size: size, rootHash: root).body)
        }
        try await insertCheckpoint(note, size: size)
        return note
    }
}

/// `body`, with a log error as the store's: out of range is the caller's `invalidArgument`,
/// anything else is a damaged log (`dataLoss`).
func logging<T>(_ body: () throws(LogError) -> T) throws(ContentStoreError) -> T {
    do {
        return try body()
    } catch where error.code == .outOfRange {
        throw ContentStoreError(.invalidArgument, error.message)
    } catch {
        throw ContentStoreError(.dataLoss, error.message)
    }
}
