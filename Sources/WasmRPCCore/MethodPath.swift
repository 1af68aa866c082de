/// A gRPC method's path, `/package.Service/method`, parsed from text (with or without its leading
/// slash) and printed.
public struct MethodPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The service's fully qualified name, `package.Service`.
    public let service: String
    public let method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    /// Parses `/package.Service/method` or `package.Service/method`: nil unless there is exactly
    /// one slash between a non-empty service and a non-empty method.
    public init?(_ text: some StringProtocol) {
        let body = text.hasPrefix("/") ? text.dropFirst() : text[...]
        let parts = body.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(service: String(parts[0]), method: String(parts[1]))
    }

    /// `/package.Service/method`, as HTTP/2's `:path` carries it.
    public var description: String { "/\(service)/\(method)" }

    /// `package.Service/method`, as grpc-swift's `MethodDescriptor.fullyQualifiedMethod`, metric
    /// labels and grpcurl write it.
    public var qualified: String { "\(service)/\(method)" }

    public static func < (lhs: MethodPath, rhs: MethodPath) -> Bool { lhs.description < rhs.description }
}
