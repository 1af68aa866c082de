import Crypto
import WasmRPCCore

/// The leaf the log records for a committed state-changing call (docs/LOG.md): ten lines of UTF-8
/// text, each ending in a newline, in this order and nothing else:
///
///     wasmrpc transaction v1
///     module <64 lowercase hex: the module id>
///     sequence <the module's transaction number, from 1, decimal>
///     method </package.Service/Method>
///     input <64 lowercase hex: SHA-256 of the request message's bytes>
///     output <64 lowercase hex: SHA-256 of the response message's bytes>
///     reads <64 lowercase hex: SHA-256 of the serialized read set>
///     writes <64 lowercase hex: SHA-256 of the serialized write set>
///     time <nanoseconds since 1970, decimal: what the call's clock read>
///     nonce <32 lowercase hex: 16 bytes the server drew for the call>
///
/// The transaction's id is the lowercase hex SHA-256 of these bytes.
public struct TransactionLogEntry: Sendable, Hashable {
    public static let header = "wasmrpc transaction v1"

    public var module: String
    public var sequence: Int64
    public var method: String
    public var inputSHA256: String
    public var outputSHA256: String
    public var readsSHA256: String
    public var writesSHA256: String
    public var timeNanoseconds: Int64
    public var nonce: String

    public init(
        module: String, sequence: Int64, method: String, inputSHA256: String, outputSHA256: String, readsSHA256: String,
        writesSHA256: String, timeNanoseconds: Int64, nonce: String
    ) {
        self.module = module
        self.sequence = sequence
        self.method = method
        self.inputSHA256 = inputSHA256
        self.outputSHA256 = outputSHA256
        self.readsSHA256 = readsSHA256
        self.writesSHA256 = writesSHA256
        self.timeNanoseconds = timeNanoseconds
        self.nonce = nonce
    }

    /// The entry of a transaction with these contents (digests computed here).
    public init(
        module: String, sequence: Int64, method: String, input: [UInt8], output: [UInt8], reads: [UInt8], writes: [UInt8],
        timeNanoseconds: Int64, nonce: [UInt8]
    ) {
        self.init(
            module: module, sequence: sequence, method: method, inputSHA256: Self.digest(input), outputSHA256: Self.digest(output),
            readsSHA256: Self.digest(reads), writesSHA256: Self.digest(writes), timeNanoseconds: timeNanoseconds,
            nonce: Hex.lowercase(nonce))
    }

    public static func digest(_ bytes: [UInt8]) -> String { Hex.lowercase(SHA256.hash(data: bytes)) }

    public var bytes: [UInt8] {
        Array(
            """
            \(Self.header)
            module \(module)
            sequence \(sequence)
            method \(method)
            input \(inputSHA256)
            output \(outputSHA256)
            reads \(readsSHA256)
            writes \(writesSHA256)
            time \(timeNanoseconds)
            nonce \(nonce)

            """.utf8)
    }

    /// The transaction id: the hex SHA-256 of the leaf.
    public var id: String { Self.digest(bytes) }

    /// Whether `bytes` start like a transaction leaf (rather than a module's).
    public static func isTransaction(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: Array((header + "\n").utf8))
    }

    /// Parses a leaf, accepting only the canonical form (so one entry has exactly one encoding).
    public init(parsing bytes: [UInt8]) throws(LogError) {
        guard let text = String(validating: bytes, as: UTF8.self), text.hasSuffix("\n") else {
            throw LogError(.malformed, "a transaction log entry is UTF-8 text ending in a newline")
        }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 10, lines[0] == Self.header else {
            throw LogError(.malformed, "not a \"\(Self.header)\" log entry")
        }
        let keys = ["module", "sequence", "method", "input", "output", "reads", "writes", "time", "nonce"]
        var values: [String] = []
        for (offset, key) in keys.enumerated() {
            let line = lines[offset + 1]
            guard line.hasPrefix(key + " ") else {
                throw LogError(.malformed, "line \(offset + 2) of a transaction log entry must start with \"\(key) \"")
            }
            values.append(String(line.dropFirst(key.count + 1)))
        }
        guard let sequence = Int64(values[1]), let time = Int64(values[7]) else {
            throw LogError(.malformed, "sequence and time must be numbers")
        }
        for (index, length) in [(0, 64), (3, 64), (4, 64), (5, 64), (6, 64), (8, 32)] {
            guard Hex.isLowercase(values[index], count: length) else {
                throw LogError(.malformed, "\(keys[index]) must be \(length) lowercase hex digits")
            }
        }
        self.init(
            module: values[0], sequence: sequence, method: values[2], inputSHA256: values[3], outputSHA256: values[4],
            readsSHA256: values[5], writesSHA256: values[6], timeNanoseconds: time, nonce: values[8])
        guard self.bytes == bytes else { throw LogError(.malformed, "the log entry is not in canonical form") }
    }
}
