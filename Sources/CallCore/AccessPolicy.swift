import Crypto

/// What a call asks the server to do, as the access policy, the request limits and the call log
/// see it: every front door names its calls with these (gRPC methods, HTTP routes, tiles), never
/// with method strings.
public enum CallOperation: Sendable, Hashable {
    /// Store a module (`Registry.Add`, `POST /v1/modules`).
    case add
    /// Read one module, its bytes, descriptor or an example request.
    case get
    case list
    /// Run a function named by module id and function name (`Invoker.Invoke`, `InvokeStream`,
    /// `POST /v1/modules/{id}/functions/{function}`).
    case invoke
    /// Run an uploaded method by its path, `package.Service/method` (a native route,
    /// `POST /v1/services/{service}/{method}`).
    case call(String)
    /// The transparency log: checkpoints, proofs, entries and tiles.
    case log
    /// Modules' world state and transactions.
    case state
    /// Server reflection.
    case reflection
    /// The built-in `grpc.health.v1.Health/Check` and `/Watch`.
    case health
    /// The explorer page and the OpenAPI document.
    case page

    /// Who may do it when a token is set.
    public enum Access: Sendable {
        /// Anyone: health probes carry no token, and the page is public.
        case open
        /// Anyone, unless reads are protected.
        case read
        /// The token's holders.
        case write
    }

    public var access: Access {
        switch self {
        case .add: .write
        case .health, .page: .open
        case .get, .list, .invoke, .call, .log, .state, .reflection: .read
        }
    }

    /// How it is named in errors.
    public var name: String {
        switch self {
        case .add: "adding a module"
        case .get: "reading a module"
        case .list: "listing modules"
        case .invoke: "a function call"
        case .call(let path): "a call of \(path)"
        case .log: "reading the log"
        case .state: "reading state"
        case .reflection: "server reflection"
        case .health: "a health check"
        case .page: "the page"
        }
    }
}

/// Who may call what: with a token configured, writes (`CallOperation.Access.write`) need
/// `authorization: Bearer <token>`; reads need it too when `protectReads` is set; health checks and
/// the page never do. The token is compared in constant time (both sides hashed, then every byte
/// compared) and never logged. It is decided from the request's headers alone, before any body is
/// read.
public struct AccessPolicy: Sendable {
    let tokenDigest: [UInt8]?
    public let protectReads: Bool

    public init(token: String?, protectReads: Bool = false) {
        tokenDigest = token.map { Array(SHA256.hash(data: Array($0.utf8))) }
        self.protectReads = protectReads
    }

    public static let open = AccessPolicy(token: nil)

    /// Whether any call needs a token.
    public var requiresToken: Bool { tokenDigest != nil }

    /// Whether answers to `operation` are for token holders only (so no shared cache may keep them).
    public func isProtected(_ operation: CallOperation) -> Bool {
        guard tokenDigest != nil else { return false }
        switch operation.access {
        case .open: return false
        case .read: return protectReads
        case .write: return true
        }
    }

    /// Throws UNAUTHENTICATED unless `authorization` (the request's header) allows `operation`.
    public func check(_ operation: CallOperation, authorization: String?) throws(CallError) {
        guard let tokenDigest, isProtected(operation) else { return }
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw CallError(.unauthenticated, "\(operation.name) needs an `authorization: Bearer <token>` header")
        }
        let presented = Array(SHA256.hash(data: Array(authorization.dropFirst(7).utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(presented, tokenDigest) { difference |= a ^ b }
        guard difference == 0 else { throw CallError(.unauthenticated, "the bearer token is not valid") }
    }
}
