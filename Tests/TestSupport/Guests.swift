import Dispatch
import Synchronization
import SwiftProtobuf
import WapcHost

/// Guests and descriptors that several suites use.
public enum TestGuests {
    /// One service `loop.Loop` with one method `run(Nothing) returns (Nothing)`.
    public static let nothing = descriptorSet(package: "loop", messages: ["Nothing": []], services: [("Loop", [("run", "Nothing", "Nothing")])])

    /// A guest whose every call makes the host call `test`/`hold` (see `Hold`), then answers an
    /// empty message.
    public static let holdWat = """
        (module
          (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "testhold")
          (func (export "__guest_call") (param i32 i32) (result i32)
            (drop (call $host_call (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 0) (i32.const 0)))
            (call $respond (i32.const 0) (i32.const 0))
            (i32.const 1)))
        """

    /// `echo.Echo/echo(Text) returns (Text)`.
    public static let echoDescriptor = descriptorSet(
        package: "echo", messages: ["Text": ["text"]], services: [("Echo", [("echo", "Text", "Text")])])

    /// Distinct modules with the echo guest's behaviour (a custom section makes each new).
    public static func echoCopy(_ n: Int) -> [UInt8] {
        appendingCustomSection(echoWasm, name: "test.copy", payload: Array("\(n)".utf8))
    }
}

/// A host capability that blocks the guest's host call until the test releases it (bounded, so a
/// failing test cannot hang): a guest held in it holds its instance and thread exactly as long as
/// the test says, whatever the machine's speed.
public final class Hold: HostCapability {
    let released = DispatchSemaphore(value: 0)
    public init() {}
    public func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        guard released.wait(timeout: .now() + 60) == .success else { throw HostCallFailure("never released") }
        return []
    }
    public func release(_ count: Int = 1) { for _ in 0..<count { released.signal() } }
}

/// A host capability that counts its calls.
public final class HostCallCounter: HostCapability {
    public let calls = Atomic<Int>(0)
    public init() {}
    public func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        calls.add(1, ordering: .relaxed)
        return []
    }
}
