import Foundation
import NIOSSL

/// A TLS file named on the command line that cannot serve: missing, not PEM, or a key that does
/// not belong to its certificate. The message names the option and the file, never the key.
public struct TLSFileError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Certificates and keys read from PEM files and checked before a transport gets them, so that a
/// wrong path or a mismatched key fails at start with the option's name instead of at the first
/// connection with "Couldn't create SSL context".
public enum PEMFiles {
    /// The bytes of `path` (named by `option`), which hold one or more PEM certificates.
    public static func certificates(at path: String, option: String) throws(TLSFileError) -> [UInt8] {
        try parseCertificates(at: path, option: option).bytes
    }

    /// A certificate chain (`--tls-cert`) and its private key (`--tls-key`), both PEM, each read and
    /// parsed once, and checked to belong together: the key must match the chain's first certificate.
    public static func identity(chain chainPath: String, key keyPath: String) throws(TLSFileError) -> (chain: [UInt8], key: [UInt8]) {
        let chain = try parseCertificates(at: chainPath, option: "--tls-cert")
        let keyBytes = try read(keyPath, option: "--tls-key")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            // The error names only the failure, never the file's content.
            throw TLSFileError("--tls-key \(keyPath) is not a readable PEM private key (\(error))")
        }
        do {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.parsed.map { .certificate($0) }, privateKey: .privateKey(key))
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError("--tls-cert \(chainPath) and --tls-key \(keyPath): the private key does not match the certificate (\(error))")
        }
        return (chain.bytes, keyBytes)
    }

    private static func parseCertificates(at path: String, option: String) throws(TLSFileError)
        -> (bytes: [UInt8], parsed: [NIOSSLCertificate])
    {
        let bytes = try read(path, option: option)
        let parsed: [NIOSSLCertificate]
        do {
            parsed = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSFileError("\(option) \(path) holds no readable PEM certificate (\(error))")
        }
        guard !parsed.isEmpty else { throw TLSFileError("\(option) \(path) holds no PEM certificate") }
        return (bytes, parsed)
    }

    private static func read(_ path: String, option: String) throws(TLSFileError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSFileError("cannot read \(option) \(path)")
        }
        return Array(data)
    }
}
