import ContentStore
import DynamicProto
import WasmRPCCore

/// What a module offers callers, read from its descriptor: the services' methods, each a function
/// that runs the waPC operation of the same name. A waPC call takes one message and answers one,
/// so unary methods map directly, server-streaming ones answer a stream of one message, and
/// bidirectional ones (natively) make one call per request message; client-streaming methods have
/// no such form: they are kept (a proto that has them can be uploaded) but refuse calls. Only
/// `init(descriptorSet:)` makes one, so holding a `ModuleInterface` means the descriptor was
/// parsed, is self-contained, and defines at least one service with at least one method.
public struct ModuleInterface: Sendable {
    public let pool: DescriptorPool
    /// Every method of every service, in descriptor order.
    public let functions: [MethodDescriptor]
    /// The serialized FileDescriptorSet as it is stored: the bytes `ModuleRuntime.add` was given
    /// (the Registry passes swift-protobuf's serialization of the set the client sent), or the
    /// module's embedded set re-serialized the same way.
    public let descriptorSet: [UInt8]

    /// The functions with their message types, as the store's index records them.
    public var signatures: [FunctionSignature] {
        functions.map {
            FunctionSignature(
                path: $0.path, input: pool[$0.input].fullName, output: pool[$0.output].fullName, clientStreaming: $0.clientStreaming,
                serverStreaming: $0.serverStreaming)
        }
    }

    /// The custom section a module may carry its descriptor set in.
    public static let customSectionName = "wasmrpc.descriptor"

    public init(descriptorSet: [UInt8]) throws(ModuleRuntimeError) {
        let pool: DescriptorPool
        do {
            pool = try DescriptorPool(serializedFileDescriptorSet: descriptorSet)
        } catch {
            throw ModuleRuntimeError(.invalidDescriptor, "the descriptor set is not usable: \(error.message)")
        }
        guard !pool.services.isEmpty else {
            throw ModuleRuntimeError(.invalidDescriptor, "the descriptor set defines no service; a module's functions are the methods of its services")
        }
        for service in pool.services where service.methods.isEmpty {
            throw ModuleRuntimeError(.invalidDescriptor, "service \(service.fullName) defines no method")
        }
        self.pool = pool
        self.functions = pool.methods
        self.descriptorSet = descriptorSet
    }

    /// The function `name` names: `mul`, `Calculator/mul`, `complex.Calculator/mul` (a leading `/`
    /// is allowed). A short name that several services define is ambiguous.
    public func resolve(_ name: String) throws(ModuleRuntimeError) -> MethodDescriptor {
        guard !name.isEmpty, name != "/" else { throw ModuleRuntimeError(.invalidArgument, "no function name given") }
        let candidates = pool.methods(matching: name)
        switch candidates.count {
        case 1:
            return candidates[0]
        case 0:
            let known = functions.map(\.path).joined(separator: ", ")
            throw ModuleRuntimeError(.functionNotFound, "the module has no function \(EchoedText.quote(name)); it has \(known)")
        default:
            let paths = candidates.map(\.path).joined(separator: ", ")
            throw ModuleRuntimeError(.invalidArgument, "the function name \(EchoedText.quote(name)) is ambiguous: it matches \(paths)")
        }
    }

    /// Refuses client-streaming methods (UNIMPLEMENTED), the one shape without a waPC form.
    public static func checkCallable(_ function: MethodDescriptor) throws(ModuleRuntimeError) {
        guard function.clientStreaming, !function.serverStreaming else { return }
        throw ModuleRuntimeError(
            .unimplemented,
            "\(function.path) is client-streaming: a waPC call answers one request message with one message, so only unary, server-streaming (a stream of one) and bidirectional (a call per message) methods can be called")
    }

    /// The type URL of a message type, e.g. `type.googleapis.com/complex.ComplexResponse`.
    public func typeURL(of type: MessageID) -> String {
        Wire.typeURLPrefix + pool[type].fullName
    }

    /// Whether `typeURL` names `type`: its last path segment is the type's full name (any host
    /// part is accepted, as protobuf's `Any` does). An empty URL names any type.
    public func typeURL(_ typeURL: String, names type: MessageID) -> Bool {
        guard !typeURL.isEmpty else { return true }
        let name = typeURL.lastIndex(of: "/").map { typeURL[typeURL.index(after: $0)...] } ?? typeURL[...]
        return name == pool[type].fullName
    }
}
