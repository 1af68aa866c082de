import ArgumentParser

/// A duration on the command line: `200ms`, `1s`, `1.5s`, `2m`, `24h`, `500us`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration
    let defaultValueDescription: String

    init?(argument: String) {
        defaultValueDescription = argument
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value.isFinite, value > 0 else { return nil }
            duration = .nanoseconds(Int64(min(value * scale * 1e9, 9e18)))
            return
        }
        return nil
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A byte count on the command line: `65536`, `64KiB`, `64MiB`, `1GiB`, `10MB` (decimal units too).
struct ByteCountArgument: ExpressibleByArgument, Sendable {
    let bytes: Int
    let defaultValueDescription: String

    init?(argument: String) {
        defaultValueDescription = argument
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000),
            ("B", 1), ("", 1),
        ]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            guard let value = Int(argument.dropLast(suffix.count)), value > 0 else { return nil }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
            guard !overflow else { return nil }
            self.bytes = bytes
            return
        }
        return nil
    }
}
