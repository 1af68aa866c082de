import ContentStore
import WasmRPCCore

extension ContentStore {
    /// The embedded store in `directory` (`SQLiteStorage`). The log signs with `logKey` (a
    /// `PRIVATE+KEY+…` string) if given, else with the key in `directory/log.key`, created on
    /// first start. With `readOnly` (for audits) nothing in the directory is created or changed
    /// (`SQLiteStorage.init`), the key file must exist, and every write fails. `cachingState` as
    /// for `open(engine:log:cachingState:)`: `serve` sets it while it holds the directory's
    /// `DirectoryLock`.
    public static func open(
        directory: String, logOrigin: String = Wire.defaultLogOrigin, logKey: String? = nil, readOnly: Bool = false,
        cachingState: Bool = false
    ) async throws(ContentStoreError) -> ContentStore {
        let engine = try SQLiteStorage(directory: directory, readOnly: readOnly)
        let log = try LogIdentity.load(directory: directory, origin: logOrigin, encodedKey: logKey, create: !readOnly)
        return try await open(engine: engine, log: log, cachingState: cachingState)
    }
}
