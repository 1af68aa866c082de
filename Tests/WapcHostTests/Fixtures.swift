import Foundation
import Synchronization
import WAT
@testable import WapcHost

/// Paths and loaders for the committed fixtures and example guests.
enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: repository.appendingPathComponent(relativePath)))
    }

    /// A WAT fixture from Tests/Fixtures, assembled with WasmKit's WAT parser.
    static func wat(_ name: String) throws -> [UInt8] {
        let text = try String(contentsOf: repository.appendingPathComponent("Tests/Fixtures/\(name)"), encoding: .utf8)
        return try wat2wasm(text)
    }

    static func load(
        _ bytes: [UInt8], configuration: WapcConfiguration = .quiet, router: HostCallRouter = .standard
    ) throws -> WapcModule {
        try WapcModule.load(bytes: bytes, configuration: configuration, router: router)
    }
}

extension WapcConfiguration {
    /// Default limits, guest output dropped.
    static var quiet: WapcConfiguration {
        var configuration = WapcConfiguration()
        configuration.output = .discard
        return configuration
    }
}

/// Collects guest output for assertions.
final class OutputRecorder: Sendable {
    private let lines = Mutex<[(GuestOutput.Stream, String)]>([])

    var output: GuestOutput {
        GuestOutput { stream, bytes in
            self.lines.withLock { $0.append((stream, String(decoding: bytes, as: UTF8.self))) }
        }
    }

    func text(_ stream: GuestOutput.Stream) -> String {
        lines.withLock { $0.filter { $0.0 == stream }.map(\.1).joined() }
    }
}

/// Records host calls and answers with a fixed reply, or fails with a fixed message.
final class RecordingCapability: HostCapability {
    private let calls = Mutex<[HostCall]>([])
    let reply: Result<[UInt8], HostCallFailure>

    init(reply: Result<[UInt8], HostCallFailure>) { self.reply = reply }

    var received: [HostCall] { calls.withLock { $0 } }

    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        calls.withLock { $0.append(call) }
        return try reply.get()
    }
}

/// Runs `body` and returns the `WapcError` it threw, or nil.
func wapcError(_ body: () throws -> Void) -> WapcError? {
    do {
        try body()
        return nil
    } catch let error as WapcError {
        return error
    } catch {
        return WapcError(.trapped, "unexpected error type: \(error)")
    }
}
