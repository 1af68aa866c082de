import ArgumentParser
import ContentStore
import Foundation
import WasmRPCCore
import PostgresEngine
import SQLiteEngine

/// `wasmrpc migrate`: an embedded store (a data directory) copied into a new PostgreSQL database,
/// with the proof that nothing changed on the way.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a data directory's modules, log and world state into a new PostgreSQL database, and prove the copy.",
        discussion: """
            The data directory is locked meanwhile (stop its server first). The database must be \
            empty: its schema is created, then every blob is copied and re-hashed, and every row — \
            modules, the log's leaves, subtree hashes and newest checkpoint, state and transactions — \
            is written in one transaction. The copy is then proven: the same tree size and root, every \
            blob read back and re-hashed, every module's state equal, and a clean audit of the \
            database. Servers on the database must sign with the data directory's key: give them \
            `--log-key-file DATA_DIR/log.key` (or the file this command was given).
            """)

    @Option(help: "The data directory to copy.")
    var from: String

    @Option(help: "The PostgreSQL database to copy into: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.")
    var to: String

    @Option(help: "The log's signing key, if it is not log.key in the data directory.")
    var logKeyFile: String?

    @Option(help: "The log's origin.")
    var logOrigin = Wire.defaultLogOrigin

    func run() async throws {
        guard FileManager.default.fileExists(atPath: from + "/wasmrpc.sqlite") else {
            throw CommandFailure("\(from) holds no wasmrpc data")
        }
        do {
            let key = try LogIdentity.readKeyFile(ifGiven: logKeyFile)
            // No server may write the directory while it is copied.
            let lock = try DirectoryLock.acquire(from)
            defer { lock.release() }
            let source = try await ContentStore.open(directory: from, logOrigin: logOrigin, logKey: key, readOnly: true)
            let destination = try await ContentStore.open(engine: PostgresStorage.open(url: to), log: source.log)
            let copied = try await source.copy(to: destination)
            print(
                "copied \(copied.modules) modules, \(copied.transactions) transactions and \(copied.stateEntries) state entries "
                    + "from \(from) to \(destination.engine.location)")
            print("log: \(copied.treeSize) leaves, root \(Hex.lowercase(copied.root)) in both; every blob re-hashed, state equal, audit clean")
        } catch {
            throw CommandFailure(error.message)
        }
    }
}
