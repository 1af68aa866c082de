import ArgumentParser
import Client
import ContentStore
import Foundation
import TransparencyLog
import WasmRPCCore
import PostgresEngine
import SQLiteEngine

/// `wasmrpc log …`: the transparency log of every Add.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Inspect and verify the transparency log.",
        subcommands: [LogCheckpoint.self, LogKey.self, LogProve.self, LogConsistency.self, LogVerify.self])
}

/// `--log-key` for commands that verify the log.
struct LogKeyOption: ParsableArguments {
    @Option(help: "Pin this log verifier key (NAME+HASH+KEY) instead of trusting the server's on first use.")
    var logKey: String?

    func trust() throws -> LogTrust {
        var explicit: NoteVerifier?
        if let logKey {
            do {
                explicit = try NoteVerifier(encoded: logKey)
            } catch {
                throw ValidationError("--log-key: \(error.message)")
            }
        }
        return LogTrust(directory: ClientConfigDirectory.logs(), explicitKey: explicit)
    }
}

struct LogCheckpoint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Print the newest signed checkpoint.")
    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let note = try await connection.withClient { try await $0.logCheckpoint().note }
        print(note, terminator: "")
    }
}

struct LogKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Print the log's verifier key (from the server, or from a data directory).")
    @Option(help: "Read the key of this data directory instead of asking the server.")
    var data: String?
    @OptionGroup var connection: ServerConnection

    func run() async throws {
        if let data {
            do {
                print(try LogIdentity.load(directory: data, origin: Wire.defaultLogOrigin, encodedKey: nil, create: false).signer.verifier.encoded)
            } catch {
                throw CommandFailure(error.message)
            }
            return
        }
        print(try await connection.withClient { try await $0.logCheckpoint().key.encoded })
    }
}

struct LogProve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove", abstract: "Fetch a module or a transaction, verify it is in the log, and print the proof.")
    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String?
    @Option(help: "A transaction id instead of a module: its record must be what its leaf commits to.")
    var transaction: String?
    @Flag(help: "Print leaf_index, tree_size, leaf, hashes and checkpoint as JSON.")
    var json = false
    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func validate() throws {
        if (module == nil) == (transaction == nil) { throw ValidationError("name a module or a --transaction, not both") }
        if let transaction, !Hex.isLowercase(transaction, count: 64) { throw ValidationError("a transaction id is 64 lowercase hex digits") }
    }

    func run() async throws {
        let trust = try logKey.trust()
        if let transaction {
            let logged = try await connection.withClient { try await $0.getTransactionVerified(transaction, trust: trust) }
            try report(
                "transaction \(logged.entry.id)", verified: "the record is what the leaf commits to", proven: logged.proven,
                leaf: logged.entry.bytes, note: logged.checkpointNote)
            return
        }
        guard let module else { return }
        let logged = try await connection.withClient { client in
            try await client.getVerified(try await ModuleReference.resolve(module, with: client), trust: trust)
        }
        try report(
            "module \(logged.module.id)", verified: "bytes hash to the id, the leaf names them", proven: logged.proven,
            leaf: logged.entry.bytes, note: logged.checkpointNote)
    }

    /// Prints a verified leaf's proof: as JSON, or as lines saying what was verified, then the leaf.
    private func report(_ what: String, verified: String, proven: ProvenLeaf, leaf: [UInt8], note: String) throws {
        if json {
            try printJSON([
                "leaf_index": proven.leafIndex, "tree_size": proven.checkpoint.size, "leaf": Data(leaf).base64EncodedString(),
                "hashes": proven.inclusionProof.map { Data($0).base64EncodedString() }, "checkpoint": note,
            ])
            return
        }
        print("\(what) is leaf \(proven.leafIndex) of \(proven.checkpoint.size) in \(proven.checkpoint.origin)")
        print("verified: \(verified), the inclusion proof leads to the signed root")
        if let previous = proven.previous { print("consistent with the checkpoint of \(previous.size) leaves seen before") }
        print(String(decoding: leaf, as: UTF8.self), terminator: "")
    }
}

struct LogConsistency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency", abstract: "Prove that the log of --to leaves extends the log of --from leaves.")
    @Option(help: "The smaller tree size.")
    var from: Int64
    @Option(help: "The larger tree size (default: the newest checkpoint's).")
    var to: Int64?
    @Flag(help: "Print first, second, hashes, both roots and the newest checkpoint as JSON.")
    var json = false

    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func run() async throws {
        guard from >= 0, (to ?? 0) >= 0 else { throw ValidationError("tree sizes are not negative") }
        let trust = try logKey.trust()
        let proof = try await connection.withClient { try await $0.verifiedConsistency(first: from, second: to, trust: trust) }
        if json {
            try printJSON([
                "first": proof.first, "second": proof.second, "hashes": proof.hashes.map { Data($0).base64EncodedString() },
                "first_root": Data(proof.firstRoot).base64EncodedString(), "second_root": Data(proof.secondRoot).base64EncodedString(),
                "checkpoint": proof.checkpointNote,
            ])
        } else {
            print("tree \(proof.second) extends tree \(proof.first): consistency proof verified")
            print("roots vouched for by signed checkpoints: \(proof.vouched.isEmpty ? "none" : proof.vouched.map(String.init).joined(separator: ", "))")
            for hash in proof.hashes { print("  \(Data(hash).base64EncodedString())") }
        }
    }
}

struct LogVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audit a data directory or a PostgreSQL database offline: tree, checkpoint, module rows and blobs.")
    @Option(help: "The data directory (default: $XDG_DATA_HOME/wasmrpc or ~/.local/share/wasmrpc).")
    var data: String?

    @Option(help: "Audit this PostgreSQL database (read-only) instead; its checkpoint is checked with --log-key-file, or log.key in --data.")
    var database: String?

    @Option(help: "The log's signing key, if it is not log.key in the data directory.")
    var logKeyFile: String?

    func run() async throws {
        let directory = data ?? DataDirectory.standard()
        if database == nil, !FileManager.default.fileExists(atPath: directory + "/wasmrpc.sqlite") {
            throw CommandFailure("\(directory) holds no wasmrpc data")
        }
        let problems: [String]
        let location: String
        do {
            let key = try LogIdentity.readKeyFile(ifGiven: logKeyFile)
            let store: ContentStore
            if let database {
                let log = try LogIdentity.load(directory: directory, origin: Wire.defaultLogOrigin, encodedKey: key, create: false)
                store = try await ContentStore.open(engine: PostgresStorage.open(url: database, readOnly: true), log: log)
            } else {
                store = try await ContentStore.open(directory: directory, logKey: key, readOnly: true)
            }
            location = store.engine.location
            problems = try await store.audit()
        } catch {
            throw CommandFailure(error.message)
        }
        guard problems.isEmpty else {
            for problem in problems { printError("problem: \(problem)") }
            throw CommandFailure("\(problems.count) problem(s) in \(location)")
        }
        print("\(location): the log, its checkpoint, every module and transaction row and every blob check out")
    }
}

/// One line of JSON with sorted keys.
func printJSON(_ object: [String: Any]) throws {
    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
}
