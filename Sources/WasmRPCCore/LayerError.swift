/// An opaque error code of one layer's error type: compared by name, printed as its name. `Layer`
/// (the error type) makes each layer's codes a type of their own; the codes themselves are static
/// members in an `extension ErrorCode where Layer == …`.
public struct ErrorCode<Layer>: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    package init(_ name: String) { self.name = name }
    public var description: String { name }
}

/// The error of one layer: an opaque code (the server maps codes to gRPC statuses in one place)
/// and a message for people; printed as `code: message`.
public protocol LayerError: Error, Sendable, Hashable, CustomStringConvertible {
    associatedtype Layer
    var code: ErrorCode<Layer> { get }
    var message: String { get }
}

extension LayerError {
    public var description: String { "\(code): \(message)" }
}
