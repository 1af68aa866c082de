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
        let bytes = try read(path, option: option)
        let parsed: [NIOSSLCertificate]
        do {
            parsed = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSFileError("\(option) \(path) holds no readable PEM certificate (\(error))")
        }
        guard !parsed.isEmpty else { throw TLSFileError("\(option) \(path) holds no PEM certificate") }
        return bytes
    }

    /// The bytes of `path` (named by `option`), which hold a PEM private key.
    public static func privateKey(at path: String, option: String) throws(TLSFileError) -> [UInt8] {
        let bytes = try read(path, option: option)
        do {
            _ = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            // The error names only the failure, never the file's content.
            throw TLSFileError("\(option) \(path) is not a readable PEM private key (\(error))")
        }
        return bytes
    }

    /// Checks that `key` belongs to the first certificate of `chain` (both PEM); `options` names
    /// the pair in the error.
    public static func checkPair(chain: [UInt8], key: [UInt8], options: String) throws(TLSFileError) {
        do {
            let certificates = try NIOSSLCertificate.fromPEMBytes(chain)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem)))
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError("\(options): the private key does not match the certificate (\(error))")
        }
    }

    private static func read(_ path: String, option: String) throws(TLSFileError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSFileError("cannot read \(option) \(path)")
        }
        return Array(data)
    }
}
