import GRPCCore
import Testing

/// Runs `body` and returns the status code of the `RPCError` it throws (nil if it succeeds).
func statusCode(_ body: () async throws -> some Any) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        Issue.record("expected an RPCError, got \(error)")
        return nil
    }
}
