import ArgumentParser
import Client
import DynamicProto
import Foundation
import WasmRPCCore

/// `wasmrpc describe`: a module's services, or one function with its message types.
struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a module's functions and their message types.")

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String

    @Argument(help: "A function (mul, Calculator/mul, complex.Calculator/mul); default: every service.")
    var function: String?

    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let metadata = try await connection.withClient { client in
            try await client.metadata(try await ModuleReference.resolve(module, with: client))
        }
        let pool = try metadata.descriptorPool()
        let added = Date(timeIntervalSince1970: TimeInterval(metadata.added.seconds))
        print("module \(metadata.id)\n  name \(metadata.name), \(metadata.size) bytes, added \(added.ISO8601Format())\n")
        guard let function else {
            for service in pool.services { print(pool.describe(service)) }
            print(try stockClientHowTo(metadata.id, pool: pool, methods: pool.methods), terminator: "")
            return
        }
        let method = try FunctionName.resolve(function, in: pool)
        print(pool.describe(method) + "\n")
        print(pool.describe(method.input))
        print(pool.describe(method.output))
        print(try stockClientHowTo(metadata.id, pool: pool, methods: [method]), terminator: "")
    }

    /// How any gRPC client calls `methods` at their own paths, with a grpcurl example for the first
    /// (its request is a random message of the input type, in JSON).
    func stockClientHowTo(_ id: String, pool: DescriptorPool, methods: [DynamicProto.MethodDescriptor]) throws -> String {
        guard let first = methods.first else { return "" }
        let address = try connection.address()
        var text = "Any gRPC client calls these methods at their own paths (server reflection lists them):\n"
        for method in methods {
            text += "  \(method.path)  (\(pool[method.input].fullName) → \(pool[method.output].fullName))\n"
        }
        text += "The most recently added module that defines a path answers it; this header pins this module:\n"
        text += "  \(Wire.moduleIDHeader): \(id)\n"
        var random = SeededRandom(seed: 1)
        var options = RandomMessageOptions()
        options.maxDepth = 2
        options.maxCount = 1
        options.maxLength = 6
        let example = try DynamicMessage.random(type: first.input, pool: pool, options: options, using: &random).jsonString()
        let security = connection.clientTLS == nil ? "-plaintext " : ""
        text += "For example, with grpcurl:\n"
        text += "  grpcurl \(security)-H '\(Wire.moduleIDHeader): \(id)' -d '\(example)' \(address) \(MethodPath(first.path)?.qualified ?? first.path)\n"
        return text
    }
}

/// Function names as the server resolves them, for commands that need the method client-side.
enum FunctionName {
    static func resolve(_ name: String, in pool: DescriptorPool) throws -> DynamicProto.MethodDescriptor {
        let matches = pool.methods(matching: name)
        guard matches.count == 1 else {
            if matches.isEmpty {
                throw CommandFailure("the module has no function \"\(name)\"; it has \(pool.methods.map(\.path).joined(separator: ", "))")
            }
            throw CommandFailure("\"\(name)\" is ambiguous: \(matches.map(\.path).joined(separator: ", "))")
        }
        return matches[0]
    }
}
