import WasmRPCCore
/// One function of a stored module as the index records it: its method path and message types, so
/// that listing modules needs no descriptor.
public struct FunctionSignature: Sendable, Hashable {
    /// `/package.Service/method`.
    public var path: String
    /// Fully qualified message type names (no leading dot).
    public var input: String
    public var output: String
    public var clientStreaming: Bool
    public var serverStreaming: Bool

    public init(path: String, input: String, output: String, clientStreaming: Bool = false, serverStreaming: Bool = false) {
        self.path = path
        self.input = input
        self.output = output
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
    }

    /// One line of the index's `signatures` column: `path input output shape` (protobuf names hold
    /// no spaces).
    var line: String {
        let shape = clientStreaming ? (serverStreaming ? "bidi" : "client") : (serverStreaming ? "server" : "unary")
        return "\(path) \(input) \(output) \(shape)"
    }

    init?(line: Substring) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].hasPrefix("/") else { return nil }
        let streaming: (Bool, Bool)
        switch parts[3] {
        case "unary": streaming = (false, false)
        case "client": streaming = (true, false)
        case "server": streaming = (false, true)
        case "bidi": streaming = (true, true)
        default: return nil
        }
        self.init(path: String(parts[0]), input: String(parts[1]), output: String(parts[2]), clientStreaming: streaming.0, serverStreaming: streaming.1)
    }

    package static func encode(_ signatures: [FunctionSignature]) -> String {
        signatures.map(\.line).joined(separator: "\n")
    }

    /// nil if any line is malformed.
    package static func decode(_ text: String) -> [FunctionSignature]? {
        if text.isEmpty { return [] }
        var signatures: [FunctionSignature] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let signature = FunctionSignature(line: line) else { return nil }
            signatures.append(signature)
        }
        return signatures
    }
}

/// A module as List shows it: what the index holds about it, without its bytes, and without its
/// descriptor unless asked for.
public struct ModuleSummary: Sendable, Hashable {
    public var id: ModuleID
    public var name: String
    public var size: Int
    public var addedMilliseconds: Int64
    public var leafIndex: Int64
    /// The functions' method paths.
    public var functions: [String]
    /// The functions with their types; nil for a module stored before they were recorded (its
    /// descriptor has them).
    public var signatures: [FunctionSignature]?
    /// The serialized FileDescriptorSet, when the listing asked for it.
    public var descriptor: [UInt8]?

    package init(
        id: ModuleID, name: String, size: Int, addedMilliseconds: Int64, leafIndex: Int64, functions: [String],
        signatures: [FunctionSignature]?, descriptor: [UInt8]?
    ) {
        self.id = id
        self.name = name
        self.size = size
        self.addedMilliseconds = addedMilliseconds
        self.leafIndex = leafIndex
        self.functions = functions
        self.signatures = signatures
        self.descriptor = descriptor
    }
}
