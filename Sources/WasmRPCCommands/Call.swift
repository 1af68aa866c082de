import ArgumentParser
import Foundation
import Logging
import WapcHost

/// `wasmrpc call MODULE.wasm OPERATION`: runs one waPC operation locally, like `extism call`.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one operation of a waPC module locally and print its raw response.",
        discussion: """
            The response bytes go to stdout unchanged. Guest console output, WASI stdout/stderr \
            and logged host calls go to stderr. On failure, a one-line reason goes to stderr and \
            the exit code is 1.

            Example:
              wasmrpc call Guests/echo/echo.wasm echo --input hello
            """
    )

    @Argument(help: "The WebAssembly module (.wasm, or WebAssembly text .wat).")
    var module: String

    @Argument(help: "The waPC operation to call, e.g. echo or mul.")
    var operation: String

    @Option(help: "The request payload as text.")
    var input: String?

    @Option(help: "Read the request payload from this file. Without --input or --input-file, stdin is read unless it is a terminal.")
    var inputFile: String?

    @Option(help: "Wall-clock limit for the call, e.g. 200ms, 1s, 2m.")
    var timeout: DurationArgument = DurationArgument(argument: "1s")!

    @Option(help: "Linear memory limit, e.g. 64MiB.")
    var memoryLimit: ByteCountArgument = ByteCountArgument(argument: "64MiB")!

    @Option(help: "Fuel budget for the call (≈ wasm instructions); 0 for no fuel limit.")
    var fuel: UInt64 = 2_000_000_000

    @Flag(help: "Answer host calls that no capability handles with their own payload, to try a guest in isolation.")
    var echoHostCalls = false

    func validate() throws {
        if input != nil, inputFile != nil {
            throw ValidationError("give either --input or --input-file, not both")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        do {
            let response = try execute()
            FileHandle.standardOutput.write(Data(response))
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Loads the module and runs the operation; separated from `run` for tests.
    func execute() throws -> [UInt8] {
        let bytes = try ModuleFile.read(module)
        let payload: [UInt8]
        if let input {
            payload = Array(input.utf8)
        } else if let inputFile {
            guard let data = FileManager.default.contents(atPath: inputFile) else {
                throw CommandFailure("cannot read input file \(inputFile)")
            }
            payload = Array(data)
        } else if isatty(STDIN_FILENO) == 0 {
            payload = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            payload = []
        }

        var configuration = WapcConfiguration()
        configuration.timeout = timeout.duration
        configuration.memoryLimit = memoryLimit.bytes
        configuration.fuel = fuel == 0 ? nil : fuel
        configuration.output = GuestOutput { stream, bytes in
            var text = bytes
            if stream == .console, text.last != 10 { text.append(10) }
            FileHandle.standardError.write(Data(text))
        }
        var router = HostCallRouter.standard
        if echoHostCalls { router.fallback = EchoCapability() }

        do {
            // The instance that validated the module runs the call (its start-up output printed once).
            return try WapcModule.loadKeepingInstance(bytes: bytes, configuration: configuration, router: router).instance
                .invoke(operation: operation, payload: payload)
        } catch {
            throw CommandFailure(error)
        }
    }
}

extension CommandFailure {
    /// One line that says why a waPC call failed.
    init(_ error: WapcError) {
        switch error.code {
        case .deadlineExceeded: self.init("the guest ran out of time: \(error.message)")
        case .outOfFuel: self.init("the guest ran out of fuel: \(error.message)")
        default: self.init("\(error.code): \(error.message)")
        }
    }
}
