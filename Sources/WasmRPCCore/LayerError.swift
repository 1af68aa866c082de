/// The error of one layer: a code from the layer's own enum (the server maps codes to gRPC
/// statuses in one place, with exhaustive switches) and a message for people; printed as
/// `code: message`.
public protocol LayerError: Error, Sendable, Hashable, CustomStringConvertible {
    associatedtype Code: Hashable, Sendable, CustomStringConvertible
    var code: Code { get }
    var message: String { get }
}

extension LayerError {
    public var description: String { "\(code): \(message)" }
}
