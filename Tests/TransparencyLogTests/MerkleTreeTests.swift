import Foundation
import Testing
@testable import TransparencyLog

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// The Certificate Transparency / RFC 6962 reference leaves and tree heads (as in trillian and
/// transparency-dev/merkle test data).
enum Vectors {
    static let leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(hex)
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(hex)
    /// (leaf index, tree size, proof)
    static let inclusion: [(Int64, Int64, [[UInt8]])] = [
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"].map(hex)),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"].map(hex)),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"].map(hex)),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"].map(hex)),
    ]
    /// (first size, second size, proof)
    static let consistency: [(Int64, Int64, [[UInt8]])] = [
        (1, 1, []),
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"].map(hex)),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"].map(hex)),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"].map(hex)),
    ]
}

/// RFC 6962's recursive definition, straight from the text: the oracle for the stored tree.
func referenceRoot(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
    if leaves.isEmpty { return MerkleTree.emptyRoot }
    if leaves.count == 1 { return MerkleTree.leafHash(leaves.first!) }
    let k = Int(MerkleTree.split(Int64(leaves.count)))
    return MerkleTree.nodeHash(referenceRoot(leaves.prefix(k)), referenceRoot(leaves.dropFirst(k)))
}

/// A tree kept as the stored log keeps it: the hash of every complete subtree, made by
/// `MerkleTree.appending` and read back through `MerkleTree.fold`.
struct StoredTree {
    var size: Int64 = 0
    var hashes: [MerkleTree.Node: [UInt8]] = [:]

    init(leaves: [[UInt8]]) throws {
        try append(leaves)
    }

    mutating func append(_ leaves: [[UInt8]]) throws {
        let edge = try MerkleTree.fold(MerkleTree.nodes(covering: 0, size).map { [$0] }, hashes: hashes)
        for (node, hash) in try MerkleTree.appending(leaves, to: size, edge: edge) {
            #expect(hashes.updateValue(hash, forKey: node) == nil, "subtree \(node) written twice")
        }
        size += Int64(leaves.count)
    }

    func root(size: Int64) throws -> [UInt8] {
        try MerkleTree.fold([MerkleTree.nodes(covering: 0, size)], hashes: hashes)[0]
    }

    func inclusionProof(index: Int64, size: Int64) throws -> [[UInt8]] {
        try MerkleTree.fold(MerkleTree.inclusionNodes(index: index, size: size), hashes: hashes)
    }

    func consistencyProof(first: Int64, second: Int64) throws -> [[UInt8]] {
        try MerkleTree.fold(MerkleTree.consistencyNodes(first: first, second: second), hashes: hashes)
    }
}

@Suite(.timeLimit(.minutes(10))) struct MerkleTreeTests {
    @Test func rootsMatchTheRFC6962Vectors() throws {
        for size in 0...8 {
            #expect(referenceRoot(Vectors.leaves.prefix(size)[...]) == Vectors.roots[size], "reference, size \(size)")
            let log = try StoredTree(leaves: Array(Vectors.leaves.prefix(size)))
            #expect(try log.root(size: Int64(size)) == Vectors.roots[size], "stored, size \(size)")
        }
        // Appending one at a time gives the same subtrees as one batch.
        let batch = try StoredTree(leaves: Vectors.leaves)
        var log = try StoredTree(leaves: [])
        for leaf in Vectors.leaves { try log.append([leaf]) }
        #expect(log.hashes == batch.hashes)
        for size in 0...8 { #expect(try log.root(size: Int64(size)) == Vectors.roots[size]) }
    }

    @Test func splitIsTheLargestPowerOfTwoBelowEvenNearTheTop() {
        #expect(MerkleTree.split(2) == 1 && MerkleTree.split(5) == 4 && MerkleTree.split(8) == 4)
        #expect(MerkleTree.split(.max) == 1 << 62)
        #expect(MerkleTree.split((1 << 62) + 1) == 1 << 62)
    }

    @Test func inclusionProofsMatchTheVectorsAndVerify() throws {
        let log = try StoredTree(leaves: Vectors.leaves)
        for (index, size, expected) in Vectors.inclusion {
            let proof = try log.inclusionProof(index: index, size: size)
            #expect(proof == expected, "leaf \(index) of \(size)")
            try MerkleTree.verifyInclusion(
                index: index, size: size, leafHash: MerkleTree.leafHash(Vectors.leaves[Int(index)]), proof: proof,
                root: Vectors.roots[Int(size)])
        }
    }

    @Test func consistencyProofsMatchTheVectorsAndVerify() throws {
        let log = try StoredTree(leaves: Vectors.leaves)
        for (first, second, expected) in Vectors.consistency {
            let proof = try log.consistencyProof(first: first, second: second)
            #expect(proof == expected, "\(first) → \(second)")
            try MerkleTree.verifyConsistency(
                first: first, second: second, firstRoot: Vectors.roots[Int(first)], secondRoot: Vectors.roots[Int(second)], proof: proof)
        }
    }

    @Test func everyProofOfEveryTreeUpTo70LeavesVerifies() throws {
        let leaves = (0..<70).map { [UInt8($0), UInt8(truncatingIfNeeded: $0 &* 7)] }
        let log = try StoredTree(leaves: leaves)
        for size in 1...Int64(leaves.count) {
            let root = try log.root(size: size)
            #expect(root == referenceRoot(leaves.prefix(Int(size))[...]))
            for index in 0..<size {
                let proof = try log.inclusionProof(index: index, size: size)
                try MerkleTree.verifyInclusion(index: index, size: size, leafHash: MerkleTree.leafHash(leaves[Int(index)]), proof: proof, root: root)
            }
            for first in 0...size {
                let proof = try log.consistencyProof(first: first, second: size)
                let firstRoot = try log.root(size: first)
                try MerkleTree.verifyConsistency(first: first, second: size, firstRoot: firstRoot, secondRoot: root, proof: proof)
            }
        }
    }

    @Test func anyMutationOfAnInclusionProofFails() throws {
        let leaves = (0..<37).map { [UInt8($0)] }
        let log = try StoredTree(leaves: leaves)
        let size: Int64 = 37
        let root = try log.root(size: size)
        for index in [Int64(0), 5, 31, 36] {
            let leafHash = MerkleTree.leafHash(leaves[Int(index)])
            let proof = try log.inclusionProof(index: index, size: size)
            func fails(_ index: Int64, _ size: Int64, _ leafHash: [UInt8], _ proof: [[UInt8]], _ root: [UInt8]) -> Bool {
                (try? MerkleTree.verifyInclusion(index: index, size: size, leafHash: leafHash, proof: proof, root: root)) == nil
            }
            #expect(!fails(index, size, leafHash, proof, root))
            // Every bit of every proof hash, of the leaf hash and of the root.
            for (i, hash) in proof.enumerated() {
                for bit in 0..<256 {
                    var mutated = proof
                    mutated[i][bit / 8] ^= 1 << (bit % 8)
                    #expect(fails(index, size, leafHash, mutated, root), "proof[\(i)] bit \(bit)")
                }
                _ = hash
            }
            for bit in 0..<256 {
                var leaf = leafHash
                leaf[bit / 8] ^= 1 << (bit % 8)
                var wrongRoot = root
                wrongRoot[bit / 8] ^= 1 << (bit % 8)
                #expect(fails(index, size, leaf, proof, root))
                #expect(fails(index, size, leafHash, proof, wrongRoot))
            }
            for wrongIndex in [index - 1, index + 1, index ^ 2, -1, size] where wrongIndex != index {
                #expect(fails(wrongIndex, size, leafHash, proof, root), "index \(wrongIndex)")
            }
            // A size that keeps the path's shape (37 → 36 for leaf 0) yields the same root: the RFC
            // verifier cannot tell, which is why the size comes from the signed checkpoint.
            for wrongSize in [size * 2, size / 2, 0] {
                #expect(fails(index, wrongSize, leafHash, proof, root), "size \(wrongSize)")
            }
            #expect(fails(index, size, leafHash, proof + [root], root))
            #expect(fails(index, size, leafHash, [root] + proof, root))
            if !proof.isEmpty { #expect(fails(index, size, leafHash, Array(proof.dropLast()), root)) }
        }
    }

    @Test func anyMutationOfAConsistencyProofFails() throws {
        let leaves = (0..<37).map { [UInt8($0)] }
        let log = try StoredTree(leaves: leaves)
        for (first, second) in [(Int64(6), Int64(37)), (1, 37), (16, 37), (20, 33)] {
            let (proof, firstRoot, secondRoot) = (
                try log.consistencyProof(first: first, second: second), try log.root(size: first), try log.root(size: second)
            )
            func fails(_ first: Int64, _ second: Int64, _ firstRoot: [UInt8], _ secondRoot: [UInt8], _ proof: [[UInt8]]) -> Bool {
                (try? MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot, secondRoot: secondRoot, proof: proof)) == nil
            }
            #expect(!fails(first, second, firstRoot, secondRoot, proof))
            for i in proof.indices {
                for bit in 0..<256 {
                    var mutated = proof
                    mutated[i][bit / 8] ^= 1 << (bit % 8)
                    #expect(fails(first, second, firstRoot, secondRoot, mutated), "proof[\(i)] bit \(bit)")
                }
            }
            for bit in 0..<256 {
                var a = firstRoot
                a[bit / 8] ^= 1 << (bit % 8)
                var b = secondRoot
                b[bit / 8] ^= 1 << (bit % 8)
                #expect(fails(first, second, a, secondRoot, proof))
                #expect(fails(first, second, firstRoot, b, proof))
            }
            for (f, s) in [(first - 1, second), (first + 1, second), (first ^ 2, second), (first, second * 2), (first, second / 2)] {
                #expect(fails(f, s, firstRoot, secondRoot, proof), "\(f) → \(s)")
            }
            #expect(fails(first, second, secondRoot, firstRoot, proof))
            #expect(fails(first, second, firstRoot, secondRoot, []))
            #expect(fails(first, second, firstRoot, secondRoot, proof + [firstRoot]))
            #expect(fails(first, second, firstRoot, secondRoot, [secondRoot] + proof))
            #expect(fails(first, second, firstRoot, secondRoot, Array(proof.dropLast())))
        }
    }

    @Test func outOfRangeRequestsAreErrors() throws {
        let log = try StoredTree(leaves: Vectors.leaves)
        #expect(throws: LogError.self) { try log.inclusionProof(index: 8, size: 8) }
        #expect(throws: LogError.self) { try log.inclusionProof(index: -1, size: 8) }
        #expect(throws: LogError.self) { try log.consistencyProof(first: 5, second: 4) }
        #expect(throws: LogError.self) { try log.consistencyProof(first: -1, second: 4) }
        // Beyond the stored tree, a subtree is missing: the log is corrupt, not silently short.
        let missing = #expect(throws: LogError.self) { try log.root(size: 9) }
        #expect(missing?.code == .corrupt)
    }

    @Test func anAppendChecksTheRightEdgeItIsGiven() throws {
        let log = try StoredTree(leaves: Array(Vectors.leaves.prefix(3)))
        let edge = try MerkleTree.fold(MerkleTree.nodes(covering: 0, 3).map { [$0] }, hashes: log.hashes)
        #expect(edge.count == 2)
        let error = #expect(throws: LogError.self) { try MerkleTree.appending([[1]], to: 3, edge: Array(edge.prefix(1))) }
        #expect(error?.code == .corrupt)
        // Leaf 3 completes subtrees (1, 1) and (2, 0): the leaf, then each parent.
        let created = try MerkleTree.appending([Vectors.leaves[3]], to: 3, edge: edge).map(\.0)
        #expect(created == [.init(level: 0, index: 3), .init(level: 1, index: 1), .init(level: 2, index: 0)])
    }
}
