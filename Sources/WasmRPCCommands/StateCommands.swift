import ArgumentParser
import Client
import ContentStore
import DynamicProto
import Foundation
import ModuleRuntime
import TransparencyLog
import WasmRPCCore
import WasmRPCProto
import SQLiteEngine

/// `wasmrpc state …`: a module's world state.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "Read a module's world state (docs/CHAINCODE.md).",
        subcommands: [StateShow.self, StateVerify.self], defaultSubcommand: StateShow.self)
}

/// `wasmrpc state MODULE [KEY | --prefix P]`.
struct StateShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print one key's value, or the keys and values of the whole state or of a prefix, in key order.",
        discussion: """
            Keys and values are printed as text when they are printable UTF-8, else as 0x-prefixed \
            hex; --json prints objects with key and value in base64 (key_text and value_text too when \
            they are UTF-8). Keys on the command line are UTF-8 text, or hex with --hex.
            """)

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String
    @Argument(help: "A key: print its value only.")
    var key: String?
    @Option(help: "Only keys that start with this.")
    var prefix: String?
    @Flag(help: "KEY and --prefix are hex, not text.")
    var hex = false
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var connection: ServerConnection

    func validate() throws {
        if key != nil, prefix != nil { throw ValidationError("give a KEY or --prefix, not both") }
    }

    func bytes(_ text: String) throws -> [UInt8] {
        guard hex else { return Array(text.utf8) }
        guard let bytes = Hex.decode(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text) else {
            throw ValidationError("\"\(text)\" is not hex")
        }
        return bytes
    }

    func run() async throws {
        let key = try self.key.map(bytes)
        let prefix = try self.prefix.map(bytes) ?? []
        try await connection.withClient { client in
            let id = try await ModuleReference.resolve(module, with: client)
            if let key {
                let answer = try await client.state.get(.with { $0.moduleID = id.hex; $0.key = Data(key) })
                guard answer.found else { throw CommandFailure("module \(id) has no value for key \(StateText.show(key))") }
                if json {
                    try printJSON(StateText.json(key: key, value: Array(answer.value)))
                } else {
                    print(StateText.show(Array(answer.value)))
                }
                return
            }
            let entries = try await client.stateEntries(of: id, from: prefix, to: StateText.prefixEnd(prefix))
            if json {
                let objects = entries.map { StateText.json(key: Array($0.key), value: Array($0.value)) }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
                return
            }
            for entry in entries { print("\(StateText.show(Array(entry.key)))\t\(StateText.show(Array(entry.value)))") }
        }
    }
}

/// `wasmrpc tx TX`: one transaction, verified against the log.
struct TransactionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Fetch a transaction, verify it is in the log, and print it.",
        discussion: """
            Checks that the record is what its log leaf commits to and that the leaf is in a \
            checkpoint signed by the log's key that extends the last one this client saw; then \
            prints it with its request and response as proto3 JSON (decoded with the module's \
            descriptor) and its read and write sets.
            """)

    @Argument(help: "The transaction id (64 hex digits).")
    var transaction: String
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let trust = try logKey.trust()
        guard Hex.isLowercase(transaction, count: 64) else { throw ValidationError("a transaction id is 64 lowercase hex digits") }
        try await connection.withClient { client in
            let logged = try await client.getTransactionVerified(transaction, trust: trust)
            guard let record = logged.transaction, let module = ModuleID(hex: record.moduleID) else {
                throw CommandFailure("the server sent no record for transaction \(transaction)")
            }
            let pool = try await client.metadata(module).descriptorPool()
            let method = pool.methods(matching: record.method).first
            func message(_ bytes: Data, _ type: MessageID?) -> Any {
                guard let type, let decoded = try? DynamicMessage(serializedBytes: Array(bytes), type: type, pool: pool),
                    let text = try? decoded.jsonString(), let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                else { return ["base64": bytes.base64EncodedString()] }
                return object
            }
            let reads = (try? Wasmrpc_V1_ReadSet(serializedBytes: record.readSet)) ?? Wasmrpc_V1_ReadSet()
            let writes = (try? Wasmrpc_V1_WriteSet(serializedBytes: record.writeSet)) ?? Wasmrpc_V1_WriteSet()
            let object: [String: Any] = [
                "id": record.id, "module": record.moduleID, "sequence": record.sequence, "method": record.method,
                "time_unix_nanos": record.timeUnixNanos, "nonce": Hex.lowercase(record.nonce), "leaf_index": record.leafIndex,
                "input": message(record.input, method?.input), "output": message(record.output, method?.output),
                "reads": reads.keys.map { ["key": StateText.show(Array($0.key)), "value_sha256": Hex.lowercase($0.valueSha256)] },
                "range_reads": reads.ranges.map {
                    ["start": StateText.show(Array($0.startKey)), "end": StateText.show(Array($0.endKey)), "limit": $0.limit, "entries": $0.entries.count]
                },
                "writes": writes.writes.map { $0.deleted ? ["key": StateText.show(Array($0.key)), "deleted": true] : ["key": StateText.show(Array($0.key)), "value": StateText.show(Array($0.value))] },
                "tree_size": logged.proven.checkpoint.size, "checkpoint": logged.checkpointNote,
            ]
            if json {
                try printJSON(object)
                return
            }
            let seconds = Double(record.timeUnixNanos) / 1e9
            print("transaction \(record.id)")
            print("  module \(record.moduleID), transaction \(record.sequence)")
            print("  method \(record.method) at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds)))")
            for (name, value) in [("input", object["input"]!), ("output", object["output"]!)] {
                let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
                print("  \(name) \(String(decoding: data, as: UTF8.self))")
            }
            for read in reads.keys { print("  read \(StateText.show(Array(read.key))) (\(read.valueSha256.isEmpty ? "absent" : "sha256 " + Hex.lowercase(read.valueSha256.prefix(8)) + "…"))") }
            for range in reads.ranges {
                print("  read range \(StateText.show(Array(range.startKey)))..<\(range.endKey.isEmpty ? "end" : StateText.show(Array(range.endKey))) (\(range.entries.count) entries)")
            }
            for write in writes.writes {
                print("  \(write.deleted ? "delete" : "put") \(StateText.show(Array(write.key)))\(write.deleted ? "" : " = " + StateText.show(Array(write.value)))")
            }
            print("verified: leaf \(logged.proven.leafIndex) of \(logged.proven.checkpoint.size) in \(logged.proven.checkpoint.origin) commits to this record")
        }
    }
}

/// How state keys and values are shown.
enum StateText {
    /// Printable UTF-8 as text, anything else as 0x-prefixed hex.
    static func show(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }), !text.hasPrefix("0x") {
            return text
        }
        return "0x" + Hex.lowercase(bytes)
    }

    static func json(key: [UInt8], value: [UInt8]) -> [String: Any] {
        var object: [String: Any] = ["key": Data(key).base64EncodedString(), "value": Data(value).base64EncodedString()]
        if let text = String(validating: key, as: UTF8.self) { object["key_text"] = text }
        if let text = String(validating: value, as: UTF8.self) { object["value_text"] = text }
        return object
    }

    /// The first key after every key that starts with `prefix` (empty: none).
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return []
    }
}

/// `wasmrpc state verify MODULE`: re-run a module's transactions and compare.
struct StateVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-run a module's transactions from an empty state and check them and the stored state.",
        discussion: """
            Runs every transaction of the module again, in order, the way the server ran it (same \
            time, same random seed, instance in its initial state, the state the earlier \
            transactions made), and checks its output, read set and write set against the record, \
            each record against its log leaf, and the final state against the stored one. With \
            --data it reads a data directory offline (read-only; run `wasmrpc log verify` for the \
            log itself); otherwise it asks a server, verifies the module against the log, and proves \
            each transaction's leaf is in a signed checkpoint. Prints one line per problem and exits \
            with status 1 if there is any.
            """)

    @Argument(help: "The module: id, unique id prefix, or unique name.")
    var module: String
    @Option(help: "Verify this data directory offline instead of asking a server.")
    var data: String?
    @OptionGroup var logKey: LogKeyOption
    @OptionGroup var connection: ServerConnection

    func run() async throws {
        let outcome = if let data { try await offline(data) } else { try await online() }
        if outcome.problems.isEmpty {
            print(
                "module \(outcome.module): \(outcome.transactions) transactions replayed; every output, read and write set matches, "
                    + "and so does the stored state (\(outcome.keys) keys)")
            return
        }
        for problem in outcome.problems { print(problem) }
        throw ExitCode(1)
    }

    /// What a replay found.
    struct Outcome: Sendable {
        let module: ModuleID
        let transactions: Int64
        let keys: Int
        let problems: [String]

        init(_ replay: Replay) {
            module = replay.module
            transactions = replay.sequence
            keys = replay.state.count
            problems = replay.problems
        }
    }

    private func offline(_ directory: String) async throws -> Outcome {
        let store: ContentStore
        do {
            store = try await ContentStore.open(directory: directory, readOnly: true)
        } catch {
            throw CommandFailure(error.message)
        }
        let id = try await Self.resolve(module, in: store)
        let (record, wasm) = try await store.module(id)
        let replay = try Replay(module: id, wasm: wasm, descriptorSet: record.descriptor)
        var last: Int64 = 0
        while true {
            let page = try await store.transactions(of: id, after: last, limit: 256)
            guard let final = page.last else { break }
            for transaction in page {
                let leaf = try await store.logEntries(start: transaction.leafIndex, count: 1).first
                if leaf != transaction.logEntry.bytes {
                    print("transaction \(transaction.sequence) (\(transaction.id)) differs from its log leaf \(transaction.leafIndex)")
                    throw ExitCode(1)
                }
                replay.apply(transaction)
            }
            last = final.sequence
        }
        var stored: [StateEntry] = []
        var start: [UInt8] = []
        while true {
            let page = try await store.stateRange(id, start: start, end: [], limit: 1_000)
            stored += page
            guard page.count == 1_000, let final = page.last else { break }
            start = final.key + [0]
        }
        replay.compare(withStored: stored)
        return Outcome(replay)
    }

    private func online() async throws -> Outcome {
        let trust = try logKey.trust()
        return try await connection.withClient { client in
            try await Self.replay(try await ModuleReference.resolve(module, with: client), from: client, trust: trust)
        }
    }

    /// Replays module `id` as `client`'s server has it: the module verified against the log, each
    /// transaction's leaf proven in a signed checkpoint, the final state compared with the server's.
    static func replay(_ id: ModuleID, from client: WasmRPCClient, trust: LogTrust) async throws -> Outcome {
        let logged = try await client.getVerified(id, trust: trust)
        let replay = try Replay(module: id, wasm: logged.module.wasm, descriptorSet: try logged.module.metadata.descriptor.serializedBytes())
        var after: UInt64 = 0
        var more = true
        while more {
            let page = try await client.state.listTransactions(.with { $0.moduleID = id.hex; $0.afterSequence = after })
            let records = try page.transactions.map(TransactionRecord.init(checking:))
            _ = try await client.proveLeaves(records.map { ($0.leafIndex, $0.logEntry.bytes) }, trust: trust)
            for record in records { replay.apply(record) }
            more = page.more && !page.transactions.isEmpty
            after = page.transactions.last?.sequence ?? after
        }
        let stored = try await client.stateEntries(of: id).map { StateEntry(key: Array($0.key), value: Array($0.value)) }
        replay.compare(withStored: stored)
        return Outcome(replay)
    }

    /// The module a data directory knows by `text`, by `ModuleReference`'s rules: a full id, a
    /// unique id prefix (4 or more hex digits) or a unique name.
    static func resolve(_ text: String, in store: ContentStore) async throws -> ModuleID {
        if let id = ModuleID(hex: text) { return id }
        var matches: [String] = []
        var token: Int64?
        repeat {
            let page = try await store.list(after: token, limit: 1_000)
            matches += page.modules.filter { ModuleReference.matches(text, id: $0.id.hex, name: $0.name) }.map(\.id.hex)
            token = page.next
        } while token != nil
        return try ModuleReference.only(text, among: matches)
    }
}

extension TransactionRecord {
    /// A record from the wire, its numbers and id checked.
    init(checking message: Wasmrpc_V1_Transaction) throws {
        guard let module = ModuleID(hex: message.moduleID), let sequence = Int64(exactly: message.sequence),
            let leafIndex = Int64(exactly: message.leafIndex)
        else {
            throw CommandFailure("the server sent a malformed transaction record \(message.id)")
        }
        self.init(
            module: module, sequence: sequence, method: message.method, input: Array(message.input), output: Array(message.output),
            readSet: Array(message.readSet), writeSet: Array(message.writeSet), timeNanoseconds: message.timeUnixNanos,
            nonce: Array(message.nonce), leafIndex: leafIndex)
        guard id == message.id else { throw CommandFailure("transaction \(message.id) is not what its record says (\(id))") }
    }
}
