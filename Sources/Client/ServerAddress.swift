import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Where a client finds the server: `HOST:PORT` (`[V6]:PORT` for IPv6 literals).
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// The server a client uses when told nothing else.
    public static let defaultAddress = ServerAddress(host: "127.0.0.1", port: 50051)
    /// The environment variable that overrides the default.
    public static let environmentVariable = "WASMRPC_SERVER"

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[V6]:PORT`; nil if malformed or the port is out of range.
    public init?(_ text: String) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else { return nil }
        self.init(host: String(host), port: number)
    }

    /// `explicit` if given, else `$WASMRPC_SERVER`, else the default.
    public static func resolve(_ explicit: String?, environment: [String: String]) throws(ClientError) -> ServerAddress {
        let (text, source) = configured(explicit, environment: environment)
        guard let address = ServerAddress(text) else {
            throw ClientError(.invalidAddress, "\(source) \"\(text)\" is not HOST:PORT")
        }
        return address
    }

    /// `explicit` if given, else `$WASMRPC_SERVER`, else the default, as a comma-separated list of
    /// servers (`HOST:PORT,HOST:PORT`): replicas of one system.
    public static func resolveList(_ explicit: String?, environment: [String: String]) throws(ClientError) -> [ServerAddress] {
        let (text, source) = configured(explicit, environment: environment)
        var addresses: [ServerAddress] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = part.trimmingCharacters(in: .whitespaces)
            guard let address = ServerAddress(part) else {
                throw ClientError(.invalidAddress, "\(source) \"\(text)\" is not HOST:PORT or a comma-separated list of them")
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }

    /// The address text to use and where it came from (for messages).
    private static func configured(_ explicit: String?, environment: [String: String]) -> (text: String, source: String) {
        if let explicit { return (explicit, "--server") }
        if let value = environment[environmentVariable], !value.isEmpty { return (value, environmentVariable) }
        return (defaultAddress.description, "default")
    }

    /// IP literals as IP targets, names through DNS. (A DNS target would also offer an IP literal
    /// as the TLS server name, which TLS forbids; an IP target checks the certificate's IP names.)
    var resolvableTarget: any ResolvableTarget {
        if host.contains(":") { return .ipv6(address: host, port: port) }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return .ipv4(address: host, port: port) }
        return .dns(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
