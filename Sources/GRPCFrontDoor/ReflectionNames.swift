import ContentStore
import WasmRPCCore

/// Which uploaded modules' descriptor sets define each name a reflection query can ask for: file
/// names, fully qualified symbols, extensions, message types. Only names are kept (a few bytes each,
/// bounded by what is stored), so a query for a name nobody defines is answered without reading a
/// descriptor, and one for a defined name reads only the sets that define it.
struct ReflectionNames: Sendable {
    struct Extension: Hashable, Sendable {
        var type: String
        var number: Int32
    }

    /// One set's names.
    struct Entry: Sendable {
        var files: [String]
        var symbols: [String]
        var extensions: [Extension]
        var messages: [String]
    }

    private(set) var files: [String: Set<ModuleID>] = [:]
    private(set) var symbols: [String: Set<ModuleID>] = [:]
    private(set) var extensions: [Extension: Set<ModuleID>] = [:]
    private(set) var messages: [String: Set<ModuleID>] = [:]
    /// Modules whose names are here (or whose descriptor could not be read).
    private(set) var indexed: Set<ModuleID> = []

    mutating func add(_ entry: Entry?, of id: ModuleID) {
        guard indexed.insert(id).inserted, let entry else { return }
        for name in entry.files { files[name, default: []].insert(id) }
        for name in entry.symbols { symbols[name, default: []].insert(id) }
        for key in entry.extensions { extensions[key, default: []].insert(id) }
        for name in entry.messages { messages[name, default: []].insert(id) }
    }
}
