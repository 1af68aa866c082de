import CallCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 server for Prometheus: `GET /metrics` answers the text exposition format,
/// anything else 404 (405 for other methods). Plaintext and unauthenticated, so bind it to
/// loopback or a network only the scraper reaches.
struct MetricsEndpoint: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let channel: NIOAsyncChannel<Connection, Never>

    /// Binds `host:port` (0 picks a free port).
    static func bind(host: String, port: Int) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return MetricsEndpoint(channel: channel)
    }

    var port: Int? { channel.channel.localAddress?.port }

    /// Answers connections until the task is cancelled; `scrape` renders the metrics.
    func serve(scrape: @escaping @Sendable () async -> [UInt8]) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { try? await Self.answer(connection, scrape: scrape) }
                }
            }
        }
    }

    private static func answer(_ connection: Connection, scrape: @Sendable () async -> [UInt8]) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let request):
                    head = request
                case .body:
                    continue
                case .end:
                    guard let request = head else { return }
                    let (status, body): (HTTPResponseStatus, [UInt8]) =
                        switch (request.method, request.uri.split(separator: "?", maxSplits: 1).first) {
                        case (.GET, "/metrics"): (.ok, await scrape())
                        case (.GET, _): (.notFound, Array("not found; metrics are at /metrics\n".utf8))
                        default: (.methodNotAllowed, Array("only GET /metrics\n".utf8))
                        }
                    var headers = HTTPHeaders()
                    headers.add(
                        name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
                    headers.add(name: "Content-Length", value: "\(body.count)")
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                    if !request.isKeepAlive { return }
                    head = nil
                }
            }
        }
    }
}
