import GRPCNIOTransportHTTP2
import TLSFiles

/// How a client speaks TLS: whom it trusts (a CA file, else the system's roots), the certificate it
/// presents for mutual TLS, and the name it expects in the server's certificate (default: the host
/// it dials).
public struct ClientTLS: Sendable {
    /// PEM CA certificates that sign the server's certificate; nil trusts the system's roots.
    public var trustedCAFile: String?
    /// The client's certificate chain and key (PEM) for servers that require mutual TLS.
    public var certificateChainFile: String?
    public var privateKeyFile: String?
    /// The name the server's certificate must carry, and the TLS SNI; nil means the dialled host.
    public var serverName: String?

    public init(trustedCAFile: String? = nil, certificateChainFile: String? = nil, privateKeyFile: String? = nil, serverName: String? = nil) {
        self.trustedCAFile = trustedCAFile
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.serverName = serverName
    }

    /// Reads and checks the files (errors name the CLI options).
    func transportSecurity() throws(TLSFileError) -> HTTP2ClientTransport.Posix.TransportSecurity {
        let trusted = try trustedCAFile.map { path throws(TLSFileError) in try PEMFiles.certificates(at: path, option: "--tls-ca") }
        var identity: (chain: [UInt8], key: [UInt8])?
        switch (certificateChainFile, privateKeyFile) {
        case (nil, nil):
            break
        case (let chainFile?, let keyFile?):
            identity = try PEMFiles.identity(chain: chainFile, key: keyFile)
        default:
            throw TLSFileError("a client certificate needs both --tls-cert and --tls-key")
        }
        return .tls { [identity] tls in
            if let trusted { tls.trustRoots = .certificates([.bytes(trusted, format: .pem)]) }
            if let identity {
                tls.certificateChain = [.bytes(identity.chain, format: .pem)]
                tls.privateKey = .bytes(identity.key, format: .pem)
            }
        }
    }
}
