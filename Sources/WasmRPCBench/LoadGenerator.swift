import Histogram
import Synchronization

/// One measurement: a target at one concurrency.
public struct Cell: Codable, Sendable {
    public var target = ""
    public var concurrency = 0
    public var calls = 0
    public var errors = 0
    public var seconds = 0.0
    public var callsPerSecond = 0.0
    public var p50Microseconds = 0.0
    public var p90Microseconds = 0.0
    public var p99Microseconds = 0.0
    public var p999Microseconds = 0.0
    public var maxMicroseconds = 0.0
    /// This cell's figure divided by the baseline's at the same concurrency (nil for the baseline).
    public var callsPerSecondRatio: Double?
    public var p50Ratio: Double?
    public var p99Ratio: Double?

    public init(target: String, concurrency: Int, sample: Sample) {
        let histogram = sample.histogram
        let micro = { (ns: UInt64) in Double(ns) / 1_000 }
        self.target = target
        self.concurrency = concurrency
        calls = Int(histogram.totalCount)
        errors = sample.errors
        seconds = sample.seconds
        callsPerSecond = sample.seconds > 0 ? Double(histogram.totalCount) / sample.seconds : 0
        p50Microseconds = micro(histogram.valueAtPercentile(50))
        p90Microseconds = micro(histogram.valueAtPercentile(90))
        p99Microseconds = micro(histogram.valueAtPercentile(99))
        p999Microseconds = micro(histogram.valueAtPercentile(99.9))
        maxMicroseconds = micro(histogram.max)
    }
}

/// Latencies (nanoseconds, three significant digits), failures and time of one target's slices.
public struct Sample: Sendable {
    public var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
    public var errors = 0
    public var seconds = 0.0

    public init() {}

    public mutating func add(_ other: Sample) {
        histogram.add(other.histogram)
        errors += other.errors
        seconds += other.seconds
    }
}

/// Calls left to make when measuring by count.
private final class Budget: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    func take() -> Bool { left.subtract(1, ordering: .relaxed).oldValue > 0 }
}

/// A closed-loop load generator: callers that each make one call after another, their latencies
/// recorded in an HDR histogram.
public enum LoadGenerator {
    /// Runs `concurrency` callers until `duration` passed or `requests` calls were made.
    public static func measure(
        concurrency: Int, duration: Duration, requests: Int?, call: @escaping @Sendable () async throws -> Void
    ) async -> Sample {
        let budget = Budget(requests ?? .max)
        let start = ContinuousClock.now
        let end = requests == nil ? start + duration : nil
        var sample = Sample()
        await withTaskGroup(of: Sample.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine = Sample()
                    while budget.take() {
                        let began = ContinuousClock.now
                        if let end, began >= end { break }
                        do {
                            try await call()
                            let (seconds, attoseconds) = began.duration(to: .now).components
                            _ = mine.histogram.record(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
                        } catch {
                            mine.errors += 1
                        }
                    }
                    return mine
                }
            }
            for await partial in group { sample.add(partial) }
        }
        let (wholeSeconds, attoseconds) = start.duration(to: .now).components
        sample.seconds = Double(wholeSeconds) + Double(attoseconds) / 1e18
        return sample
    }
}
