/// The module's world state (docs/CHAINCODE.md): host calls to binding "wasmrpc", namespace
/// "state", with the messages of proto/wasmrpc/guest/v1/state.proto. Keys and values are bytes;
/// the `String` forms use UTF-8. In a call of a NO_SIDE_EFFECTS method (a query), `put` and
/// `delete` throw.
public enum State {
    /// The value of `key`, or nil if it has none.
    public static func get(_ key: [UInt8]) throws(GuestError) -> [UInt8]? {
        var request = WireWriter()
        request.bytes(field: 1, key)
        var reader = WireReader(try call("get", request.bytes))
        var found = false
        var value: [UInt8] = []
        while !reader.isAtEnd {
            switch try reader.key() {
            case (1, 0): found = try reader.varint() != 0
            case (2, 2): value = try reader.bytes()
            case (_, let wireType): try reader.skip(wireType: wireType)
            }
        }
        return found ? value : nil
    }

    /// Sets the value of `key`.
    public static func put(_ key: [UInt8], _ value: [UInt8]) throws(GuestError) {
        var request = WireWriter(capacity: key.count + value.count + 8)
        request.bytes(field: 1, key)
        request.bytes(field: 2, value)
        _ = try call("put", request.bytes)
    }

    /// Removes `key` (no error if it has no value).
    public static func delete(_ key: [UInt8]) throws(GuestError) {
        var request = WireWriter()
        request.bytes(field: 1, key)
        _ = try call("delete", request.bytes)
    }

    /// The keys `start <= k < end` (empty `end`: no bound) in key order, with their values: at most
    /// `limit` (0: 100, at most 1000), and whether more follow.
    public static func range(from start: [UInt8], to end: [UInt8] = [], limit: UInt32 = 0) throws(GuestError)
        -> (entries: [(key: [UInt8], value: [UInt8])], more: Bool)
    {
        var request = WireWriter()
        request.bytes(field: 1, start)
        request.bytes(field: 2, end)
        request.varint(field: 3, UInt64(limit))
        var reader = WireReader(try call("range", request.bytes))
        var entries: [(key: [UInt8], value: [UInt8])] = []
        var more = false
        while !reader.isAtEnd {
            switch try reader.key() {
            case (1, 2):
                var entry = try reader.submessage()
                var key: [UInt8] = []
                var value: [UInt8] = []
                while !entry.isAtEnd {
                    switch try entry.key() {
                    case (1, 2): key = try entry.bytes()
                    case (2, 2): value = try entry.bytes()
                    case (_, let wireType): try entry.skip(wireType: wireType)
                    }
                }
                entries.append((key, value))
            case (2, 0): more = try reader.varint() != 0
            case (_, let wireType): try reader.skip(wireType: wireType)
            }
        }
        return (entries, more)
    }

    /// Every entry of `start..<end`, page by page.
    public static func all(from start: [UInt8], to end: [UInt8] = []) throws(GuestError) -> [(key: [UInt8], value: [UInt8])] {
        var entries: [(key: [UInt8], value: [UInt8])] = []
        var next = start
        while true {
            let page = try range(from: next, to: end, limit: 1_000)
            entries.append(contentsOf: page.entries)
            guard page.more, let last = page.entries.last else { return entries }
            next = last.key + [0]
        }
    }

    /// The keys that start with `prefix`, page by page.
    public static func all(withPrefix prefix: [UInt8]) throws(GuestError) -> [(key: [UInt8], value: [UInt8])] {
        try all(from: prefix, to: prefixEnd(prefix))
    }

    /// The first key after every key that starts with `prefix` (empty: none).
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
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

    public static func get(_ key: String) throws(GuestError) -> [UInt8]? { try get(Array(key.utf8)) }
    public static func put(_ key: String, _ value: [UInt8]) throws(GuestError) { try put(Array(key.utf8), value) }
    public static func delete(_ key: String) throws(GuestError) { try delete(Array(key.utf8)) }

    private static func call(_ operation: String, _ payload: [UInt8]) throws(GuestError) -> [UInt8] {
        try hostCall(binding: "wasmrpc", namespace: "state", operation: operation, payload: payload)
    }
}
