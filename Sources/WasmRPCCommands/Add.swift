import ArgumentParser
import Client
import Foundation
import SwiftProtobuf

/// `wasmrpc add`: upload a module with its descriptor; prints the id.
struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a module to the server's registry and print its id.",
        discussion: """
            The descriptor comes from .proto files (compiled with protoc), from a FileDescriptorSet \
            file, or, with neither, from the module's own "wasmrpc.descriptor" custom section. \
            Adding the same bytes again is harmless: the stored module and its id come back.
            """)

    @Argument(help: "The module: .wasm, or WebAssembly text (.wat).")
    var module: String

    @Option(help: "A .proto file describing the module's services (repeatable; needs protoc).")
    var proto: [String] = []

    @Option(name: .customShort("I"), help: "An import directory for --proto (repeatable; default: each file's directory).")
    var includes: [String] = []

    @Option(help: "A FileDescriptorSet file (protoc --include_imports --descriptor_set_out).")
    var descriptorSet: String?

    @Option(help: "A name for the module (default: its first service's full name).")
    var name = ""

    @OptionGroup var connection: ServerConnection

    func validate() throws {
        if !proto.isEmpty, descriptorSet != nil { throw ValidationError("give --proto or --descriptor-set, not both") }
        if !includes.isEmpty, proto.isEmpty { throw ValidationError("-I needs --proto") }
    }

    func run() async throws {
        let wasm = try ModuleFile.read(module)
        let set = try descriptor()
        let response = try await connection.withClient { client in
            try await client.add(wasm: wasm, descriptorSet: set, name: name)
        }
        let metadata = response.metadata
        let functions = metadata.functions.map(\.path).joined(separator: ", ")
        let what = response.created ? "added" : "already stored as"
        printError("\(what) \(metadata.name) (\(metadata.size) bytes): \(functions)")
        print(metadata.id)
    }

    func descriptor() throws -> Google_Protobuf_FileDescriptorSet? {
        let bytes: [UInt8]
        if let descriptorSet {
            guard let data = FileManager.default.contents(atPath: descriptorSet) else {
                throw CommandFailure("cannot read descriptor set \(descriptorSet)")
            }
            bytes = Array(data)
        } else if !proto.isEmpty {
            bytes = try Protoc.descriptorSet(files: proto, includes: includes)
        } else {
            return nil
        }
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        } catch {
            throw CommandFailure("\(descriptorSet ?? "protoc's output") is not a FileDescriptorSet: \(error)")
        }
    }
}

/// Compiles .proto files to a FileDescriptorSet with the `protoc` on PATH.
enum Protoc {
    static func descriptorSet(files: [String], includes: [String]) throws -> [UInt8] {
        guard let protoc = executable("protoc") else {
            throw CommandFailure(
                "protoc is not installed: `apt-get install protobuf-compiler` (Debian/Ubuntu) or `brew install protobuf`, or pass --descriptor-set")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("wasmrpc-\(UUID().uuidString).pb")
        defer { try? FileManager.default.removeItem(at: output) }
        // Without -I, each file is compiled relative to its own directory.
        let urls = files.map { URL(fileURLWithPath: $0) }
        let directories = includes.isEmpty ? Array(Set(urls.map { $0.deletingLastPathComponent().path })).sorted() : includes
        let names = includes.isEmpty ? urls.map(\.lastPathComponent) : files
        let process = Process()
        process.executableURL = URL(fileURLWithPath: protoc)
        process.arguments = ["--include_imports", "--descriptor_set_out=\(output.path)"] + directories.map { "-I\($0)" } + names
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: output.path) else {
            throw CommandFailure("protoc failed:\n" + String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return Array(data)
    }

    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A line on stderr: progress and context, keeping stdout for the result.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
