import GRPCNIOTransportHTTP2
import TLSFiles

/// TLS for the server's port: its certificate chain and private key (PEM files), and optionally the
/// CA whose certificates clients must present (mutual TLS). Without a client CA any client may
/// connect; with one, a client without a certificate signed by it fails the handshake.
public struct ServerTLS: Sendable {
    public var certificateChainFile: String
    public var privateKeyFile: String
    public var clientCAFile: String?

    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }

    /// Reads and checks the files (errors name the `serve` options).
    func transportSecurity() throws(TLSFileError) -> HTTP2ServerTransport.Posix.TransportSecurity {
        let (chain, key) = try PEMFiles.identity(chain: certificateChainFile, key: privateKeyFile)
        let clientCA = try clientCAFile.map { path throws(TLSFileError) in try PEMFiles.certificates(at: path, option: "--tls-client-ca") }
        return .tls(certificateChain: [.bytes(chain, format: .pem)], privateKey: .bytes(key, format: .pem)) { tls in
            if let clientCA {
                tls.clientCertificateVerification = .noHostnameVerification
                tls.trustRoots = .certificates([.bytes(clientCA, format: .pem)])
            }
        }
    }
}
