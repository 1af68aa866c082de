import WasmRPCCore

/// Which web pages may use the HTTP listener, against cross-site request forgery and DNS
/// rebinding: a browser sends any page's form or `fetch` to a server on the user's machine, and a
/// name an attacker controls may resolve to 127.0.0.1. So a request must name a known host in
/// `Host` (an IP literal, `localhost`, or the host of an allowed origin), and a request from a page
/// (`Origin`) must come from the listener's own origin or an allowed one. Clients that are not
/// browsers send no `Origin`. `*` allows any host and origin.
public struct OriginPolicy: Sendable {
    /// `scheme://host[:port]`, lowercased.
    let origins: Set<String>
    /// The hosts of `origins`.
    let hosts: Set<String>
    let anything: Bool

    /// `allowedOrigins`: origins (`https://explorer.example.com`, `http://localhost:8080`) whose
    /// pages may call the listener besides its own; `["*"]` allows every host and origin.
    public init(allowedOrigins: [String] = []) {
        anything = allowedOrigins.contains("*")
        origins = Set(allowedOrigins.map { $0.lowercased() })
        hosts = Set(origins.compactMap { origin in
            guard let range = origin.range(of: "://") else { return nil }
            return Self.hostName(String(origin[range.upperBound...]))
        })
    }

    /// Why a request with these `Host` and `Origin` headers may not be served; nil if it may.
    func problem(host: String?, origin: String?) -> String? {
        guard !anything else { return nil }
        // The common case, a client that is not a browser on a loopback address, without allocating.
        if origin == nil, let host, Self.isLoopback(host) { return nil }
        if let host {
            let name = Self.hostName(host.lowercased())
            guard Self.isAddress(name) || name == "localhost" || hosts.contains(name) else {
                return "the Host \(EchoedText.quote(host)) is not this server's (an IP address, localhost, or the host of an origin in --http-allowed-origins)"
            }
        }
        guard let origin else { return nil }
        let lowered = origin.lowercased()
        if origins.contains(lowered) { return nil }
        if let host, let range = lowered.range(of: "://"), lowered[range.upperBound...] == host.lowercased(),
            lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
        {
            return nil  // the listener's own origin
        }
        return "pages from \(EchoedText.quote(origin)) may not call this server (see --http-allowed-origins)"
    }

    /// `host[:port]` or `[v6]:port` without the port.
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("[") {
            return String(authority.prefix { $0 != "]" }.dropFirst())
        }
        return String(authority.prefix { $0 != ":" && $0 != "/" })
    }

    /// Whether an authority is `127.0.0.1[:port]`, `localhost[:port]` or `[::1][:port]`.
    static func isLoopback(_ authority: String) -> Bool {
        var authority = authority
        return authority.withUTF8 { bytes in
            for name in loopbackNames where bytes.starts(with: name) {
                if bytes.count == name.count || bytes[name.count] == UInt8(ascii: ":") { return true }
            }
            return false
        }
    }

    private static let loopbackNames = ["127.0.0.1", "localhost", "[::1]"].map { Array($0.utf8) }

    /// Whether `name` is an IPv4 or IPv6 literal.
    static func isAddress(_ name: String) -> Bool {
        if name.contains(":") { return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in (1...3).contains(part.count) && part.allSatisfy(\.isNumber) && Int(part)! <= 255 }
    }
}
