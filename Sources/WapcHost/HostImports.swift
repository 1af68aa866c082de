@_spi(Fuzzing) import WasmKit

/// A function the host provides to guests.
struct HostFunction: Sendable {
    typealias Body = @Sendable (CallState, borrowing Caller, UnsafeBufferPointer<Value>, UnsafeMutableBufferPointer<Value>)
        throws(WapcError) -> Void

    let module: String
    let name: String
    let type: FunctionType
    let body: Body

    init(_ module: String, _ name: String, _ parameters: [ValueType], _ results: [ValueType], _ body: @escaping Body) {
        self.module = module
        self.name = name
        self.type = FunctionType(parameters: parameters, results: results)
        self.body = body
    }
}

/// Everything a guest may import: the waPC ABI (module `wapc`) and a sandboxed subset of WASI
/// preview 1 (module `wasi_snapshot_preview1`).
enum HostImports {
    /// Host functions by "module\0name"; a name may have several signatures (`__host_call` has the
    /// current 8-parameter form and the legacy 6-parameter one without a binding).
    static let all: [String: [HostFunction]] = {
        var table: [String: [HostFunction]] = [:]
        for function in WapcABI.functions + WASIPreview1.functions + AssemblyScriptEnv.functions {
            table[key(function.module, function.name), default: []].append(function)
        }
        return table
    }()

    private static func key(_ module: String, _ name: String) -> String { module + "\u{0}" + name }

    /// The host function that satisfies the module's import number `index`, or an error naming it.
    static func resolve(import index: Int, of module: Module) throws(WapcError) -> HostFunction {
        let entry = module.imports[index]
        let name = "\(entry.module).\(entry.name)"
        guard case .function(let typeIndex) = entry.descriptor else {
            throw WapcError(.unknownImport, "the module imports \(name), which is not a function; the host provides only functions")
        }
        guard let candidates = all[key(entry.module, entry.name)] else {
            throw WapcError(.unknownImport, "the module imports \(name), which the host does not provide")
        }
        guard let type = module.functionType(at: typeIndex), let function = candidates.first(where: { $0.type == type }) else {
            let signatures = candidates.map { "\($0.type.parameters) -> \($0.type.results)" }.joined(separator: " or ")
            throw WapcError(.unknownImport, "the module imports \(name) with a signature other than the host's \(signatures)")
        }
        return function
    }

    /// Rejects a module that imports anything not in `all`, or with another signature.
    static func check(_ module: Module) throws(WapcError) {
        for index in module.imports.indices {
            _ = try resolve(import: index, of: module)
        }
    }

    /// Binds the module's imports to host functions that act on `state`. The module passed `check`.
    static func imports(for module: Module, store: Store, state: CallState) -> Imports {
        var imports = Imports()
        for (index, entry) in module.imports.enumerated() {
            guard let function = try? resolve(import: index, of: module) else { continue }
            let body = function.body
            imports.define(
                module: entry.module, name: entry.name,
                Function(
                    store: store, parameters: function.type.parameters, results: function.type.results,
                    raw: { caller, arguments, results in
                        try body(state, caller, arguments, results)
                    }))
        }
        return imports
    }
}

extension UnsafeBufferPointer<Value> {
    /// The i32 argument at `index` (the engine has checked the types against the import).
    @inline(__always)
    func u32(_ index: Int) -> UInt32 {
        if case .i32(let value) = self[index] { return value }
        return 0
    }

    @inline(__always)
    func u64(_ index: Int) -> UInt64 {
        if case .i64(let value) = self[index] { return value }
        return 0
    }
}
