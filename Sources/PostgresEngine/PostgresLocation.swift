import ContentStore
import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL database is: parsed from a `postgres://` URL.
struct PostgresLocation: Sendable, CustomStringConvertible {
    enum TLSMode: String, Sendable { case disable, prefer, require }

    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var tls: TLSMode

    init(url: String) throws(ContentStoreError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw ContentStoreError(.invalidArgument, "\"\(Self.redacted(url))\" is not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        guard let host = components.host, !host.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw ContentStoreError(.invalidArgument, "the database URL names no database") }
        self.host = host
        port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw ContentStoreError(.invalidArgument, "sslmode must be disable, prefer or require, not \"\(item.value ?? "")\"")
                }
                tls = mode
            default:
                throw ContentStoreError(.invalidArgument, "the database URL's parameter \"\(item.name)\" is not supported (only sslmode is)")
            }
        }
    }

    /// The URL without its password.
    var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls)")
    }

    var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    func connectionTLS() throws(ContentStoreError) -> PostgresConnection.Configuration.TLS {
        do {
            switch tls {
            case .disable: return .disable
            case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw ContentStoreError(.storage, "cannot set up TLS for \(description): \(error)")
        }
    }

    /// `url` with any password replaced by `***`, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "the database URL"
    }
}
