import CallCore
import NIOSSL
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

    /// Reads and checks the files (errors name the `serve` options) and makes the TLS context of
    /// the server's HTTP/2 transport: TLS 1.2 or later, `h2` by ALPN, and client certificates
    /// checked against the client CA when there is one.
    func context() throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: try configuration(protocols: ["h2"]))
        } catch let error as ServerError {
            throw error
        } catch let error as TLSFileError {
            throw error
        } catch {
            throw ServerError(.invalidConfiguration, "the TLS certificate and key do not make a TLS context: \(error)")
        }
    }

    /// The same settings for a listener whose ALPN protocols are `protocols` (the HTTP/1.1
    /// listener's: `http/1.1`).
    func configuration(protocols: [String]) throws -> TLSConfiguration {
        let (chain, key) = try PEMFiles.identity(chain: certificateChainFile, key: privateKeyFile)
        let clientCA = try clientCAFile.map { path throws(TLSFileError) in try PEMFiles.certificates(at: path, option: "--tls-client-ca") }
        do {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(chain).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem)))
            configuration.applicationProtocols = protocols
            configuration.minimumTLSVersion = .tlsv12
            if let clientCA {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(clientCA))
            }
            return configuration
        } catch {
            throw ServerError(.invalidConfiguration, "the TLS certificate and key do not make a TLS context: \(error)")
        }
    }
}
