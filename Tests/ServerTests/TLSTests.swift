import Client
import ContentStore
import Crypto
import Foundation
import GRPCCore
import Server
import Testing
import X509
import WasmRPCCore
import TestSupport

/// A throwaway PKI in a temporary directory: a CA with a server certificate for `localhost` and a
/// client certificate, and a second CA nobody trusts with a client certificate of its own.
struct TestPKI {
    let directory: String
    let ca: String
    let serverCert: String
    let serverKey: String
    let clientCert: String
    let clientKey: String
    let strangerCert: String
    let strangerKey: String

    init() throws {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (caCertificate, caKey) = try Self.issue("wasmrpc test CA", isCA: true, by: nil)
        let (otherCA, otherKey) = try Self.issue("stranger CA", isCA: true, by: nil)
        let (server, serverKey) = try Self.issue("localhost", isCA: false, by: (caCertificate, caKey))
        let (client, clientKey) = try Self.issue("client", isCA: false, by: (caCertificate, caKey))
        let (stranger, strangerKey) = try Self.issue("client", isCA: false, by: (otherCA, otherKey))
        func write(_ name: String, _ pem: String) throws -> String {
            let path = directory + "/" + name
            try pem.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        self.directory = directory
        ca = try write("ca.pem", caCertificate.serializeAsPEM().pemString)
        serverCert = try write("server.pem", server.serializeAsPEM().pemString)
        self.serverKey = try write("server.key", serverKey.serializeAsPEM().pemString)
        clientCert = try write("client.pem", client.serializeAsPEM().pemString)
        self.clientKey = try write("client.key", clientKey.serializeAsPEM().pemString)
        strangerCert = try write("stranger.pem", stranger.serializeAsPEM().pemString)
        self.strangerKey = try write("stranger.key", strangerKey.serializeAsPEM().pemString)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A certificate for `name` (self-signed when `issuer` is nil), valid from a minute ago for a day.
    static func issue(_ name: String, isCA: Bool, by issuer: (Certificate, Certificate.PrivateKey)?) throws
        -> (Certificate, Certificate.PrivateKey)
    {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName { CommonName(name) }
        let extensions = try Certificate.Extensions {
            if isCA {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            } else {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName(name)])
            }
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(86_400),
            issuer: issuer?.0.subject ?? subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: issuer?.1 ?? key)
        return (certificate, key)
    }
}

@Suite(.timeLimit(.minutes(10))) struct TLSTests {
    /// A call that must fail: any status but OK (handshake failures surface as UNAVAILABLE).
    func refused(_ tls: ClientTLS?, configure: (inout WasmRPCServer.Configuration) -> Void) async throws -> RPCError.Code? {
        try await withServer(configure: configure, tls: tls) { client in
            await statusCode { try await client.list() }
        }
    }

    @Test func clientsThatTrustTheCAAddAndInvokeOverTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let tls = ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.serverKey)
        try await withServer(configure: { $0.tls = tls }, tls: ClientTLS(trustedCAFile: pki.ca, serverName: "localhost")) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            let result = try complexResult(try await client.invoke(id, function: "mul", parameters: try complexRequest((1, 2), (3, 4))))
            #expect(result == (-5, 10))
            let trust = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: trust) }
            _ = try await client.getVerified(id, trust: LogTrust(directory: trust))
        }
        // Plaintext, the system's roots, another expected name: no connection.
        for client in [nil, ClientTLS(serverName: "localhost"), ClientTLS(trustedCAFile: pki.ca, serverName: "other.example")] {
            let code = try await refused(client) { $0.tls = tls }
            #expect(code == .unavailable, "\(String(describing: client))")
        }
    }

    @Test func mutualTLSAdmitsOnlyCertificatesOfTheClientCA() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let tls = ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.serverKey, clientCAFile: pki.ca)
        let trusted = ClientTLS(trustedCAFile: pki.ca, certificateChainFile: pki.clientCert, privateKeyFile: pki.clientKey, serverName: "localhost")
        let listed = try await withServer(configure: { $0.tls = tls }, tls: trusted) { client in try await client.list() }
        #expect(listed.isEmpty)
        let anonymous = ClientTLS(trustedCAFile: pki.ca, serverName: "localhost")
        let stranger = ClientTLS(trustedCAFile: pki.ca, certificateChainFile: pki.strangerCert, privateKeyFile: pki.strangerKey, serverName: "localhost")
        for client in [anonymous, stranger] {
            let code = try await refused(client) { $0.tls = tls }
            #expect(code == .unavailable, "\(client)")
        }
    }

    @Test func badTLSFilesStopTheServerBeforeItTouchesItsData() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cases: [(ServerTLS, String)] = [
            (ServerTLS(certificateChainFile: pki.directory + "/missing.pem", privateKeyFile: pki.serverKey), "cannot read --tls-cert"),
            (ServerTLS(certificateChainFile: pki.serverKey, privateKeyFile: pki.serverKey), "--tls-cert \(pki.serverKey) holds no"),
            (ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.serverCert), "is not a readable PEM private key"),
            (ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.clientKey), "does not match"),
            (ServerTLS(certificateChainFile: pki.serverCert, privateKeyFile: pki.serverKey, clientCAFile: pki.serverKey), "--tls-client-ca"),
        ]
        for (tls, expected) in cases {
            let data = temporaryDirectory()
            var configuration = WasmRPCServer.Configuration(dataDirectory: data)
            configuration.port = 0
            configuration.tls = tls
            await #expect {
                _ = try await WasmRPCServer(configuration: configuration)
            } throws: { error in
                "\(error)".contains(expected)
            }
            #expect(!FileManager.default.fileExists(atPath: data))
        }
    }

    @Test func badClientTLSFilesFailBeforeConnecting() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cases: [(ClientTLS, String)] = [
            (ClientTLS(trustedCAFile: pki.directory + "/missing.pem"), "cannot read --tls-ca"),
            (ClientTLS(certificateChainFile: pki.clientCert), "both --tls-cert and --tls-key"),
            (ClientTLS(certificateChainFile: pki.clientCert, privateKeyFile: pki.serverKey), "does not match"),
        ]
        for (tls, expected) in cases {
            await #expect {
                try await WasmRPCClient.withClient(to: ServerAddress(host: "127.0.0.1", port: 9), tls: tls) { _ in }
            } throws: { error in
                (error as? ClientError)?.code == .invalidTLS && "\(error)".contains(expected)
            }
        }
    }
}
