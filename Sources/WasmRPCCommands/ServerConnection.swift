import ArgumentParser
import Client
import NIOPosix
import ContentStore
import Foundation
import GRPCCore
import TransparencyLog
import WasmRPCCore

/// `--server HOST:PORT`, the bearer token and TLS for the commands that talk to a server.
struct ServerConnection: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server, HOST:PORT (default: $WASMRPC_SERVER, else 127.0.0.1:50051).",
            discussion: "Several replicas of one system, HOST:PORT,HOST:PORT,…: calls go round-robin to those that answer."))
    var server: String?

    @Option(help: "A file holding the bearer token for servers that require one (default: $WASMRPC_AUTH_TOKEN).")
    var authTokenFile: String?

    @Flag(help: "Connect with TLS, trusting the system's CA certificates (implied by the other --tls options).")
    var tls = false

    @Option(help: "Connect with TLS, trusting the CA certificates in this PEM file.")
    var tlsCa: String?

    @Option(help: "The client certificate chain (PEM) for servers that require mutual TLS; needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The client certificate's private key (PEM).")
    var tlsKey: String?

    @Option(help: "The name the server's certificate must carry (default: the host of --server).")
    var tlsServerName: String?

    /// The TLS settings the options ask for; nil means plaintext.
    var clientTLS: ClientTLS? {
        guard tls || tlsCa != nil || tlsCert != nil || tlsKey != nil || tlsServerName != nil else { return nil }
        return ClientTLS(trustedCAFile: tlsCa, certificateChainFile: tlsCert, privateKeyFile: tlsKey, serverName: tlsServerName)
    }

    /// The server, for commands that talk to one (a list is refused).
    func address() throws -> ServerAddress {
        let addresses = try self.addresses()
        guard addresses.count == 1 else { throw CommandFailure("this command talks to one server: give --server one HOST:PORT") }
        return addresses[0]
    }

    /// The server, or the servers of a comma-separated list.
    func addresses() throws -> [ServerAddress] {
        do {
            return try ServerAddress.resolveList(server, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// Connects, runs `body`, and turns gRPC and client errors into one-line failures.
    func withClient<T: Sendable>(_ body: (WasmRPCClient) async throws -> T) async throws -> T {
        try await withClient(to: try addresses(), body)
    }

    /// The same with the address given (the token and TLS options still apply).
    func withClient<T: Sendable>(
        to address: ServerAddress, eventLoopGroup: MultiThreadedEventLoopGroup = .singleton, _ body: (WasmRPCClient) async throws -> T
    ) async throws -> T {
        try await withClient(to: [address], eventLoopGroup: eventLoopGroup, body)
    }

    /// The same with the servers given: calls go round-robin among them.
    func withClient<T: Sendable>(
        to addresses: [ServerAddress], eventLoopGroup: MultiThreadedEventLoopGroup = .singleton, _ body: (WasmRPCClient) async throws -> T
    ) async throws -> T {
        let address = addresses.map(\.description).joined(separator: ",")
        do {
            return try await WasmRPCClient.withClient(
                to: addresses, token: try AuthToken.read(file: authTokenFile), tls: clientTLS, eventLoopGroup: eventLoopGroup, body)
        } catch let error as RPCError {
            if error.code == .unavailable {
                // The cause says why (refused, TLS handshake, certificate); the message alone does not.
                let cause = error.cause.map { " (\(Self.innermost($0)))" } ?? ""
                throw CommandFailure("cannot reach the server at \(address) (is `wasmrpc serve` running?): \(error.message)\(cause)")
            }
            throw CommandFailure(error)
        } catch let error as ClientError {
            throw CommandFailure("\(error.code): \(error.message)")
        }
    }
}

extension ServerConnection {
    /// The deepest cause of a transport error: gRPC wraps the socket or TLS error in layers.
    static func innermost(_ error: any Error) -> String {
        var error = error
        while let wrapped = (error as? RPCError)?.cause ?? (error as? RuntimeError)?.cause { error = wrapped }
        return "\(error)"
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
        if let problem = ModuleLogEntry.nameProblem(text) { throw CommandFailure("no module can be named so: \(problem)") }
        let modules = try await client.list()
        return try only(text, among: modules.filter { matches(text, id: $0.id, name: $0.name) }.map(\.id))
    }

    /// Whether `text` names the module with this id and name: the id's prefix (4 or more lowercase
    /// hex digits) or its name.
    static func matches(_ text: String, id: String, name: String) -> Bool {
        let isPrefix = text.count >= 4 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
        return (isPrefix && id.hasPrefix(text)) || name == text
    }

    /// The one id of `matches` (the modules `text` names), else a clear failure.
    static func only(_ text: String, among matches: [String]) throws -> ModuleID {
        guard matches.count == 1, let id = ModuleID(hex: matches[0]) else {
            if matches.isEmpty { throw CommandFailure("no module has the id prefix or name \"\(text)\"") }
            throw CommandFailure("\"\(text)\" matches \(matches.count) modules: \(matches.joined(separator: ", "))")
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
