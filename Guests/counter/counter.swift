import WapcGuest

// Counters are stored as decimal text under the key "counter/<name>".

func key(_ name: String) -> [UInt8] { Array(("counter/" + name).utf8) }

func value(_ name: String) throws(GuestError) -> Int64 {
    guard let stored = try State.get(key(name)) else { return 0 }
    return parse(stored)
}

func parse(_ bytes: [UInt8]) -> Int64 {
    var negative = false
    var result: Int64 = 0
    for byte in bytes {
        if byte == 0x2D { negative = true } else { result = result &* 10 &+ Int64(byte &- 0x30) }
    }
    return negative ? -result : result
}

func text(_ value: Int64) -> [UInt8] { Array(String(value).utf8) }

/// Reads the first string field (field 1) and an optional second field of a request.
struct Request {
    var name = ""
    var second: [UInt8] = []
    var number: UInt64 = 0
    var third: UInt64 = 0

    init(_ payload: [UInt8]) throws(GuestError) {
        var reader = WireReader(payload)
        while !reader.isAtEnd {
            switch try reader.key() {
            case (1, 2): name = try reader.string()
            case (2, 2): second = try reader.bytes()
            case (2, 0): number = try reader.varint()
            case (3, 0): third = try reader.varint()
            case (_, let wireType): try reader.skip(wireType: wireType)
            }
        }
    }
}

func answer(_ value: Int64) -> [UInt8] {
    var writer = WireWriter()
    writer.varint(field: 1, UInt64(bitPattern: value))
    return writer.bytes
}

func answer(_ text: String) -> [UInt8] {
    var writer = WireWriter()
    writer.string(field: 1, text)
    return writer.bytes
}

func add(_ name: String, _ by: Int64) throws(GuestError) -> Int64 {
    let next = try value(name) &+ by
    try State.put(key(name), text(next))
    return next
}

/// Keeps a call busy until its deadline or fuel ends it; the volatile-like global keeps the loop
/// from being optimized away.
nonisolated(unsafe) var spins: UInt64 = 0

@_expose(wasm, "wapc_init")
@_cdecl("wapc_init")
func wapcInit() {
    register("Add") { payload throws(GuestError) in
        let request = try Request(payload)
        let by = Int64(bitPattern: request.number)
        return answer(try add(request.name, by == 0 ? 1 : by))
    }
    register("Get") { payload throws(GuestError) in
        answer(try value(try Request(payload).name))
    }
    register("List") { payload throws(GuestError) in
        let prefix = try Request(payload).name
        var writer = WireWriter(capacity: 256)
        for (storedKey, stored) in try State.all(withPrefix: key(prefix)) {
            var counter = WireWriter()
            counter.bytes(field: 1, Array(storedKey.dropFirst(8)))
            counter.varint(field: 2, UInt64(bitPattern: parse(stored)))
            writer.message(field: 1, counter.bytes)
        }
        return writer.bytes
    }
    register("AddThenFail") { payload throws(GuestError) in
        let request = try Request(payload)
        let next = try add(request.name, 1)
        // Compared as bytes: comparing Strings would pull Unicode tables into the module.
        let how = request.second
        if how == Array("error".utf8) { throw GuestError("failed after adding (counter would be " + String(next) + ")") }
        if how == Array("trap".utf8) { fatalError("trapped after adding") }
        if how == Array("spin".utf8) {
            while true { spins &+= 1 }
        }
        return answer(next)
    }
    register("WriteFromQuery") { payload throws(GuestError) in
        do throws(GuestError) {
            try State.put(key(try Request(payload).name), text(1))
            return answer("written")
        } catch {
            return answer(error.message)
        }
    }
    register("ReadYourWrites") { payload throws(GuestError) in
        let name = try Request(payload).name
        try State.put(key(name), text(7))
        let first = try value(name)
        try State.delete(key(name))
        let second = try State.get(key(name)) == nil ? "none" : "some"
        return answer(String(first) + "," + second)
    }
    register("Fill") { payload throws(GuestError) in
        let request = try Request(payload)
        let filler = [UInt8](repeating: 0x78, count: Int(request.third))
        var written: Int64 = 0
        for index in 0..<request.number {
            try State.put(key(request.name + String(index)), filler)
            written += 1
        }
        return answer(written)
    }
}
