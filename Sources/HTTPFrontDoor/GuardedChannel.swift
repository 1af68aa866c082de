import HummingbirdCore
import ListenerLimits
import Logging
import NIOCore
import NIOSSL

/// A Hummingbird child channel (HTTP/1.1, with TLS or not) with a `ConnectionGuard` right after
/// TLS (first without it: TLS tells the handlers after it that its handshake is done), which
/// `DirectJSONCalls` tells when requests are under way.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: ListenerLimits
    let connections: ConnectionCount
    let tls: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let connectionGuard = ConnectionGuard(limits: limits, connections: connections, tls: tls, bytesBeginRequests: true)
            if tls {
                try pipeline.addHandler(connectionGuard, position: .after(try pipeline.handler(type: NIOSSLServerHandler.self)))
            } else {
                try pipeline.addHandler(connectionGuard, position: .first)
            }
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
