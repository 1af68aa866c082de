import CallCore
import ContentStore
import Foundation
import GRPCCore
import GRPCInProcessTransport
import ModuleRuntime
import Server
import WasmRPCBench
import Testing
import TestSupport

/// Starting and stopping a server in any order ends `run()` and settles `listeningPort()`: it
/// answers the port or throws, and never waits forever (grpc-swift-2 alone leaves a server that
/// was told to stop before it began serving with a transport whose address never settles).
@Suite(.timeLimit(.minutes(10))) struct ServerLifecycleTests {
    /// Bounds a hang (see `outcome(within:of:)`), not a speed.
    static let hang = Duration.seconds(60)

    func server() async throws -> (WasmRPCServer, directory: String) {
        let directory = temporaryDirectory()
        var configuration = WasmRPCServer.Configuration(dataDirectory: directory)
        configuration.port = 0
        return (try await WasmRPCServer(configuration: configuration), directory)
    }

    /// After `shutdown()`, `run()` returns without serving, and `listeningPort()` says so.
    func expectStoppedBeforeItRuns(
        shutdown: () -> Void, run: @escaping @Sendable () async throws -> Void,
        listeningPort: @escaping @Sendable () async throws -> Int
    ) async throws {
        shutdown()
        let ran = try #require(await outcome(within: Self.hang, of: run), "run() did not return")
        #expect(throws: Never.self) { try ran.get() }
        let port = try #require(await outcome(within: Self.hang, of: listeningPort), "listeningPort() did not return")
        let error = #expect(throws: ServerError.self) { try port.get() }
        #expect(error?.code == .notListening)
    }

    /// One server per data directory: a second is refused, naming the first one's process, while
    /// the first holds it, and takes it once the first has stopped.
    @Test func aDataDirectoryHasOneServerAtATime() async throws {
        let (first, directory) = try await server()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = WasmRPCServer.Configuration(dataDirectory: directory)
        configuration.port = 0
        let refused = await #expect(throws: ContentStoreError.self) { try await WasmRPCServer(configuration: configuration) }
        #expect(refused?.message.contains("in use by another wasmrpc server (pid \(getpid()))") == true, "\(String(describing: refused))")
        try await expectStoppedBeforeItRuns(shutdown: first.shutdown, run: first.run, listeningPort: first.listeningPort)
        _ = try await WasmRPCServer(configuration: configuration)
    }

    @Test func aServerStoppedBeforeItRunsNeverListensAndSaysSo() async throws {
        let (server, directory) = try await server()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await expectStoppedBeforeItRuns(shutdown: server.shutdown, run: server.run, listeningPort: server.listeningPort)
        #expect(try await server.metricsPort() == nil)
    }

    @Test func theBaselineServerStoppedBeforeItRunsNeverListensAndSaysSo() async throws {
        let server = BaselineEchoServer()
        try await expectStoppedBeforeItRuns(shutdown: server.shutdown, run: server.run, listeningPort: server.listeningPort)
    }

    /// A caller that stops waiting for the ports (its task cancelled) gets `CancellationError` at
    /// once, though the server never ran.
    @Test func waitingForThePortsEndsWhenTheWaiterIsCancelled() async throws {
        let (server, directory) = try await server()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let waits: [@Sendable () async throws -> Int?] = [{ try await server.listeningPort() }, { try await server.metricsPort() }]
        for wait in waits {
            let waiter = Task { try await wait() }
            waiter.cancel()
            let result = try #require(await outcome(within: Self.hang) { try await waiter.value }, "the wait did not end")
            #expect(throws: CancellationError.self) { try result.get() }
        }
    }

    /// A port another server holds fails `run()`, and `listeningPort()` says why.
    @Test func aTakenPortFailsRunAndListeningPortWithTheReason() async throws {
        try await withRunningServer(transport: .network) { _, holder in
            let taken = try await holder.listeningPort()
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var configuration = WasmRPCServer.Configuration(dataDirectory: directory)
            configuration.port = taken
            let server = try await WasmRPCServer(configuration: configuration)
            let run = try #require(await outcome(within: Self.hang) { try await server.run() }, "run() did not return")
            let port = try #require(await outcome(within: Self.hang) { try await server.listeningPort() }, "listeningPort() did not return")
            for result in [run.map { 0 }, port] {
                let error = #expect(throws: RuntimeError.self) { try result.get() }
                #expect(error?.code == .transportError)
                #expect("\(error.map { String(describing: $0) } ?? "")".contains("Address already in use"))
            }
        }
    }

    /// A stop right after the start lands anywhere in the start (before `serve()` began, while the
    /// transport binds, after): each time `run()` returns, and the port is known or refused.
    @Test func aStopAtAnyPointOfTheStartEndsRunAndSettlesThePort() async throws {
        for round in 0..<20 {
            let (server, directory) = try await server()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let running = Task { try await server.run() }
            if round % 2 == 1 { await Task.yield() }
            server.shutdown()
            let port = await outcome(within: Self.hang) { try await server.listeningPort() }
            #expect(port != nil, "round \(round): listeningPort() did not return")
            let run = await outcome(within: Self.hang) { try await running.value }
            #expect(run != nil, "round \(round): run() did not return")
            #expect(throws: Never.self) { try run?.get() }
        }
    }

    /// A server that takes its calls in process has no port to report and no TLS to offer.
    @Test func anInProcessServerHasNoPortAndNoTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = WasmRPCServer.Configuration(dataDirectory: directory)
        configuration.listener = .inProcess(InProcessTransport().server)
        configuration.tls = ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.serverKey)
        let refused = await #expect(throws: ServerError.self) { try await WasmRPCServer(configuration: configuration) }
        #expect(refused?.code == .invalidConfiguration)
        configuration.tls = nil
        try await withRunningServer(directory: directory, configure: { $0 = configuration }) { client, server in
            let port = await #expect(throws: ServerError.self) { try await server.listeningPort() }
            #expect(port?.code == .notListening)
            let modules = try await client.list()
            #expect(modules.isEmpty)
        }
    }
}
