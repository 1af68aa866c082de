import ContentStore
@testable import ModuleRuntime
import Testing
import WasmRPCCore

/// What a runtime does with module claims (`ClaimBook`): one claim at a time per module, wait out
/// another server's, run under its own, give it back when its last call ends.
@Suite struct ClaimBookTests {
    let module = ModuleID(of: Array("a module".utf8))

    @Test func oneCallClaimsAndTheOthersRunMeanwhile() {
        let book = ClaimBook()
        book.began(module)
        book.began(module)
        #expect(book.advice(module) == .claim)
        #expect(book.advice(module) == .run)  // a call of ours is claiming it
        book.claimed(module, ClaimState(owner: "us", remaining: .seconds(60)), owner: "us")
        #expect(book.advice(module) == .run)  // ours
        #expect(!book.ended(module))  // a call still needs it
        #expect(book.ended(module))  // the last one gives it back
        #expect(book.advice(module) == .claim)
    }

    @Test func anotherServersClaimIsWaitedOut() {
        let book = ClaimBook()
        book.began(module)
        #expect(book.advice(module) == .claim)
        book.claimed(module, ClaimState(owner: "them", remaining: .seconds(60)), owner: "us")
        guard case .wait(let until) = book.advice(module) else {
            Issue.record("expected to wait")
            return
        }
        #expect(until > .now + .seconds(30))
        #expect(!book.ended(module))  // not ours to give back
        // An answer that says nothing (the claim failed) leaves the module to whoever claims next.
        book.began(module)
        #expect(book.advice(module) == .wait(until: until))
        book.claimed(module, nil, owner: "us")
        #expect(book.advice(module) == .claim)
    }

    @Test func anEndedClaimIsClaimedAgain() {
        let book = ClaimBook()
        book.began(module)
        #expect(book.advice(module) == .claim)
        book.claimed(module, ClaimState(owner: "them", remaining: .zero), owner: "us")
        #expect(book.advice(module) == .claim)
    }
}
