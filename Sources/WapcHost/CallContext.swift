import Synchronization

/// What one call sees of the world besides its payload: WASI's clocks and random bytes, and a
/// value for the host capabilities it reaches (`HostCall.context`). The default, `.live`, is the
/// real world: the system's clocks and random generator, and no value.
public struct CallContext: Sendable {
    /// nil: the WASI clocks read the system's. A value freezes the realtime and monotonic clocks at
    /// it (nanoseconds since 1970) and makes the CPU-time clocks read 0, so that a call run again
    /// later sees exactly what it saw.
    public var fixedTime: UInt64?
    /// Where WASI `random_get` takes its bytes; nil: the system's generator.
    public var random: (any RandomSource)?
    /// Handed to every host capability the call reaches, as `HostCall.context`.
    public var capability: (any Sendable)?

    public init(fixedTime: UInt64? = nil, random: (any RandomSource)? = nil, capability: (any Sendable)? = nil) {
        self.fixedTime = fixedTime
        self.random = random
        self.capability = capability
    }

    /// The real clocks and random generator, and no capability value.
    public static var live: CallContext { CallContext() }
}

/// A source of the bytes WASI `random_get` answers with.
public protocol RandomSource: Sendable {
    /// Fills `buffer` with the next bytes of the source.
    func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

/// The system's cryptographic generator.
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        var offset = 0
        while offset < buffer.count {
            withUnsafeBytes(of: generator.next() as UInt64) { word in
                for byte in word where offset < buffer.count {
                    buffer[offset] = byte
                    offset += 1
                }
            }
        }
    }
}
