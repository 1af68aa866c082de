import DynamicProto
import SwiftProtobuf

/// What Add and every call check of modules, descriptors and messages.
extension ModuleRuntime {
    /// The descriptor set as swift-protobuf writes it, so that the stored bytes (and the digest in
    /// the log) are what any client gets by serializing the `FileDescriptorSet` it receives.
    static func normalized(_ bytes: [UInt8]) throws(ModuleRuntimeError) -> [UInt8] {
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes).serializedBytes()
        } catch {
            throw ModuleRuntimeError(.invalidDescriptor, "the embedded descriptor set is not a FileDescriptorSet: \(error)")
        }
    }

    /// Whether a service name is in a package the server's own services use (`grpc.*`,
    /// `wasmrpc.*`), which Add refuses.
    static func isReserved(_ service: String) -> Bool {
        service.hasPrefix("grpc.") || service.hasPrefix("wasmrpc.")
    }

    /// Checks `parameters` against the function's input type, runs `call` (the guest: its output
    /// and the fuel it used), and checks the output against the output type.
    static func checked(
        _ function: MethodDescriptor, of interface: ModuleInterface, parameters: [UInt8], _ call: () throws -> ([UInt8], UInt64)
    ) throws -> Invocation {
        // Checked without decoding (`isValid`); only a message that fails is decoded, for the reason.
        if !DynamicMessage.isValid(serializedBytes: parameters, type: function.input, pool: interface.pool) {
            do throws(DynamicProtoError) {
                _ = try DynamicMessage(serializedBytes: parameters, type: function.input, pool: interface.pool)
            } catch {
                throw ModuleRuntimeError(
                    .invalidArgument, "the parameters are not a valid \(interface.pool[function.input].fullName): \(error.message)")
            }
        }
        let (output, fuelUsed) = try call()
        if !DynamicMessage.isValid(serializedBytes: output, type: function.output, pool: interface.pool) {
            do throws(DynamicProtoError) {
                _ = try DynamicMessage(serializedBytes: output, type: function.output, pool: interface.pool)
            } catch {
                throw ModuleRuntimeError(
                    .invalidOutput,
                    "the guest's answer to \(function.name) is not a valid \(interface.pool[function.output].fullName): \(error.message)")
            }
        }
        return Invocation(function: function, typeURL: interface.typeURL(of: function.output), output: output, fuelUsed: fuelUsed)
    }
}
