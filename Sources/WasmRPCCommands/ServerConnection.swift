import ArgumentParser
import Client
import ContentStore
import Foundation
import GRPCCore

/// `--server HOST:PORT` for the commands that talk to a server.
struct ServerConnection: ParsableArguments {
    @Option(help: "The server, HOST:PORT (default: $WASMRPC_SERVER, else 127.0.0.1:50051).")
    var server: String?

    @Option(help: "A file holding the bearer token for servers that require one (default: $WASMRPC_AUTH_TOKEN).")
    var authTokenFile: String?

    func address() throws -> ServerAddress {
        do {
            return try ServerAddress.resolve(server, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// Connects, runs `body`, and turns gRPC and client errors into one-line failures.
    func withClient<T: Sendable>(_ body: (WasmRPCClient) async throws -> T) async throws -> T {
        let address = try address()
        do {
            return try await WasmRPCClient.withClient(to: address, token: try AuthToken.read(file: authTokenFile), body)
        } catch let error as RPCError {
            if error.code == .unavailable {
                throw CommandFailure("cannot reach the server at \(address) (is `wasmrpc serve` running?): \(error.message)")
            }
            throw CommandFailure(error)
        } catch let error as ClientError {
            throw CommandFailure("\(error.code): \(error.message)")
        }
    }
}

extension CommandFailure {
    /// `NOT_FOUND: no module …`: the gRPC status name as other gRPC tools print it.
    init(_ error: RPCError) {
        self.init("\(Self.statusName(error.code)): \(error.message)")
    }

    static func statusName(_ code: RPCError.Code) -> String {
        if code == .internalError { return "INTERNAL" }
        var name = ""
        for character in "\(code)" {
            if character.isUppercase { name.append("_") }
            name.append(contentsOf: character.uppercased())
        }
        return name
    }
}

/// A module named on the command line: its full id, a unique id prefix (at least 4 hex digits), or
/// a unique module name.
enum ModuleReference {
    static func resolve(_ text: String, with client: WasmRPCClient) async throws -> ModuleID {
        if let id = ModuleID(hex: text) { return id }
        let modules = try await client.list()
        let isPrefix = text.count >= 4 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        let matches = modules.filter { (isPrefix && $0.id.hasPrefix(text)) || $0.name == text }
        guard matches.count == 1, let id = ModuleID(hex: matches[0].id) else {
            if matches.isEmpty { throw CommandFailure("no module has the id prefix or name \"\(text)\"") }
            throw CommandFailure("\"\(text)\" matches \(matches.count) modules: \(matches.map(\.id).joined(separator: ", "))")
        }
        return id
    }
}

/// The bearer token: from `--auth-token-file`, else `$WASMRPC_AUTH_TOKEN`; surrounding whitespace
/// is dropped. Never printed.
enum AuthToken {
    static func read(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read the token file \(file)") }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw CommandFailure("the token file \(file) is empty") }
            return token
        }
        return environment["WASMRPC_AUTH_TOKEN"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}
