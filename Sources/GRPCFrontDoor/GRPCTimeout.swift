/// The `grpc-timeout` request header: at most 8 digits and a unit (H, M, S, m, u, n), as in the
/// gRPC HTTP/2 protocol spec. grpc-swift enforces it by cancelling the handler; the guest needs it
/// as a duration to bound its own run.
enum GRPCTimeout {
    static func parse(_ value: String) -> Duration? {
        guard let unit = value.last, (2...9).contains(value.count) else { return nil }
        let digits = value.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let amount = Int64(digits) else { return nil }
        switch unit {
        case "H": return .seconds(amount * 3600)
        case "M": return .seconds(amount * 60)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }
}
