import Crypto
import GRPCCore

/// Who may call what: with a token configured, writes (Registry.Add) need `authorization: Bearer
/// <token>`; reads (Get, List, Invoke, Log, reflection, native calls) need it too when `protectReads`
/// is set; health checks never do. The token is compared in constant time (both sides hashed, then
/// every byte compared) and never logged.
public struct AccessPolicy: Sendable {
    let tokenDigest: [UInt8]?
    public let protectReads: Bool

    /// Methods that change what the server stores.
    static let writes: Set<String> = ["wasmrpc.v1.Registry/Add"]
    /// Always open: health probes (load balancers, Kubernetes) carry no token, and the answer
    /// (serving or not) tells nothing about what is stored.
    static let healthService = "grpc.health.v1.Health/"

    public init(token: String?, protectReads: Bool = false) {
        tokenDigest = token.map { Array(SHA256.hash(data: Array($0.utf8))) }
        self.protectReads = protectReads
    }

    public static let open = AccessPolicy(token: nil)

    /// Whether any call needs a token.
    public var requiresToken: Bool { tokenDigest != nil }

    func check(method: String, authorization: String?) throws(RPCError) {
        guard let tokenDigest, !method.hasPrefix(Self.healthService) else { return }
        guard Self.writes.contains(method) || protectReads else { return }
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw RPCError(code: .unauthenticated, message: "\(method) needs an `authorization: Bearer <token>` header")
        }
        let presented = Array(SHA256.hash(data: Array(authorization.dropFirst(7).utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(presented, tokenDigest) { difference |= a ^ b }
        guard difference == 0 else { throw RPCError(code: .unauthenticated, message: "the bearer token is not valid") }
    }
}
