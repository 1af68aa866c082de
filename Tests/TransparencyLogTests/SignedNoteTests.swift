import Crypto
import Foundation
import Testing
@testable import TransparencyLog

@Suite(.timeLimit(.minutes(10))) struct SignedNoteTests {
    static let signer = try! NoteSigner(name: "example.com/log", key: Curve25519.Signing.PrivateKey())

    @Test func checkpointsRoundTripAndVerify() throws {
        let checkpoint = Checkpoint(origin: "example.com/log", size: 8, rootHash: Vectors.roots[8])
        #expect(checkpoint.body == "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")
        let note = try Self.signer.sign(checkpoint.body)
        #expect(note.hasPrefix(checkpoint.body + "\n— example.com/log "))
        let verifier = try NoteVerifier(encoded: Self.signer.verifier.encoded)
        #expect(try Checkpoint(body: verifier.verify(note)) == checkpoint)
        #expect(Checkpoint.claimedOrigin(ofNote: note) == "example.com/log")
        #expect(Checkpoint.claimedOrigin(ofNote: "") == nil && Checkpoint.claimedOrigin(ofNote: "\nexample.com/log\n") == nil)
    }

    @Test func theKeyHashFollowsTheSpec() throws {
        let verifier = Self.signer.verifier
        let expected = SHA256.hash(data: Array("example.com/log".utf8) + [0x0A, 0x01] + Array(verifier.publicKey.rawRepresentation))
        #expect(verifier.keyHash == Array(expected.prefix(4)))
        let parts = verifier.encoded.split(separator: "+", maxSplits: 2)
        #expect(parts.count == 3 && parts[0] == "example.com/log" && parts[1].count == 8)
        #expect(try NoteSigner(encoded: Self.signer.encoded).verifier == verifier)
        // Keys whose base64 contains "+" (about 1 in 3) still parse.
        for _ in 0..<20 {
            let signer = try NoteSigner(name: "a/b", key: Curve25519.Signing.PrivateKey())
            #expect(try NoteSigner(encoded: signer.encoded).verifier == signer.verifier)
            #expect(try NoteVerifier(encoded: signer.verifier.encoded) == signer.verifier)
        }
    }

    @Test func tamperedNotesAndForeignKeysAreRefused() throws {
        let note = try Self.signer.sign(Checkpoint(origin: "example.com/log", size: 8, rootHash: Vectors.roots[8]).body)
        let verifier = Self.signer.verifier
        #expect(throws: LogError.self) { try verifier.verify(note.replacingOccurrences(of: "\n8\n", with: "\n9\n")) }
        #expect(throws: LogError.self) { try verifier.verify(note.replacingOccurrences(of: "example.com/log\n", with: "example.org/log\n")) }
        let other = try NoteSigner(name: "example.com/log", key: Curve25519.Signing.PrivateKey()).verifier
        #expect(throws: LogError.self) { try other.verify(note) }
        #expect(throws: LogError.self) { try verifier.verify(String(note.dropLast())) }
        #expect(throws: LogError.self) { try verifier.verify("no signature\n") }
        #expect(throws: LogError.self) { try NoteVerifier(encoded: "example.com/log+00000000+" + verifier.encoded.split(separator: "+")[2]) }
        #expect(throws: LogError.self) { try Checkpoint(body: "origin\n-1\nAAAA\n") }
        #expect(throws: LogError.self) { try Checkpoint(body: "origin\n08\n\(Data(Vectors.roots[8]).base64EncodedString())\n") }
    }
}
