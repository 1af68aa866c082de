import WasmRPCCore

/// What a front door read from a request's headers, in the core's terms (each door has its own
/// header type: gRPC metadata, HPACK headers, HTTP fields).
public struct CallHeaders: Sendable {
    /// `authorization`.
    public var authorization: String?
    /// `x-request-id`.
    public var requestID: String?
    /// The values of `wasmrpc-module-id` (a pin to one of the modules that define a method).
    public var moduleIDs: [String] = []
    /// The values of `wasmrpc-idempotency-key`.
    public var idempotencyKeys: [String] = []
    /// The client's time limit (`grpc-timeout`), from the request's arrival.
    public var timeout: Duration?

    public init(
        authorization: String? = nil, requestID: String? = nil, moduleIDs: [String] = [], idempotencyKeys: [String] = [],
        timeout: Duration? = nil
    ) {
        self.authorization = authorization
        self.requestID = requestID
        self.moduleIDs = moduleIDs
        self.idempotencyKeys = idempotencyKeys
        self.timeout = timeout
    }
}

/// One call as the core sees it, from its headers on (`CallCore.begin`): what it asks for, its
/// request id, its deadline, its pin and idempotency key, and whether it may go on at all.
public struct Call: Sendable {
    public let operation: CallOperation
    public let requestID: String
    /// The client's address, for the log line.
    public let peer: String
    public let started: ContinuousClock.Instant
    public let deadline: ContinuousClock.Instant?
    /// The module a call by method path is pinned to (`wasmrpc-module-id`).
    public let pinned: ModuleID?
    public let idempotencyKey: IdempotencyKey?
    /// Why the call may not go on: the access policy, or a malformed header. Decided from the
    /// headers alone, so a door refuses before it reads any body.
    public let refusal: CallError?

    init(
        operation: CallOperation, requestID: String, peer: String, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant?,
        pinned: ModuleID?, idempotencyKey: IdempotencyKey?, refusal: CallError?
    ) {
        self.operation = operation
        self.requestID = requestID
        self.peer = peer
        self.started = started
        self.deadline = deadline
        self.pinned = pinned
        self.idempotencyKey = idempotencyKey
        self.refusal = refusal
    }

    /// Throws the refusal, if there is one.
    public func admit() throws(CallError) {
        if let refusal { throw refusal }
    }
}

/// The function a call runs: `function` (a name or `package.Service/method`) of module `module`.
public struct CallTarget: Sendable {
    public let module: ModuleID
    public let function: String

    public init(module: ModuleID, function: String) {
        self.module = module
        self.function = function
    }
}

extension ModuleID {
    /// `text` as a module id, or INVALID_ARGUMENT.
    public static func parse(_ text: String) throws(CallError) -> ModuleID {
        guard let id = ModuleID(hex: text) else {
            throw CallError(.invalidArgument, "\(EchoedText.quote(text)) is not a module id (64 lowercase hex digits of the module's SHA-256)")
        }
        return id
    }
}
