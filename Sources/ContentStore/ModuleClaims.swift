import WasmRPCCore

/// A module claimed by one server for a moment (docs/CHAINCODE.md, "Conflicts"). Servers that
/// share a database validate their transactions optimistically, and each runs a module's
/// transactions as a pipeline (each reading the writes of the ones before it that wait for their
/// commit); on a hot key, whichever server commits first makes the other's whole pipeline
/// conflict, and the same server can win again and again while the other's calls wait. So a server
/// whose calls of a module conflicted repeatedly claims the module for a short window: while the
/// claim is in force, the module's transactions that other servers ran are conflicts, so the
/// owner's pipeline commits, and the others back off until the window ends and claim in turn.
/// Claims are rows in the store, so every server sees them, and they end on their own.
public struct ModuleClaim: Sendable, Hashable {
    public var module: ModuleID
    /// The server that holds it (`PendingTransaction.origin`).
    public var owner: String

    public init(module: ModuleID, owner: String) {
        self.module = module
        self.owner = owner
    }
}

/// The claim in force on a module after a `StorageEngine.claim`: its owner, and how long it
/// lasts from now.
public struct ClaimState: Sendable, Hashable {
    public var owner: String
    public var remaining: Duration

    public init(owner: String, remaining: Duration) {
        self.owner = owner
        self.remaining = remaining
    }
}

extension ModuleClaim {
    /// The longest a claim lasts; a claim that seems to end later was made before the clock
    /// stepped back, and is not in force.
    public static let longest: Duration = .seconds(10)
}

extension ContentStore {
    /// Claims `claim.module` for `claim.owner` for `duration` (at most `ModuleClaim.longest`),
    /// unless another owner's claim is in force; answers the claim in force afterwards. Nil for a
    /// store no other server writes, which keeps no claims (`StorageEngine.isShared`).
    public func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState? {
        guard engine.isShared else { return nil }
        return try await onEngine { () async throws(ContentStoreError) in
            try await engine.claim(claim, for: min(duration, ModuleClaim.longest))
        }
    }

    /// Ends `claim` if its owner still holds it.
    public func release(_ claim: ModuleClaim) async throws(ContentStoreError) {
        try await onEngine { () async throws(ContentStoreError) in try await engine.release(claim) }
    }
}
