/// A parsed JSON document. Numbers keep their text so that 64-bit integers lose nothing.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; duplicate names are refused by the parser.
    case object([JSONMember])
}

struct JSONMember: Equatable {
    let name: String
    let value: JSONValue
}

/// A strict JSON (RFC 8259) parser with a nesting limit.
struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private let depthLimit: Int

    static func parse(_ text: String, depthLimit: Int) throws(DynamicProtoError) -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8), depthLimit: depthLimit)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8], depthLimit: Int) {
        self.bytes = bytes
        self.depthLimit = depthLimit
    }

    private func error(_ message: String) -> DynamicProtoError {
        DynamicProtoError(.invalidJSON, "\(message) at byte \(index)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func expect(_ literal: String) throws(DynamicProtoError) {
        let expected = Array(literal.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw error("expected \(literal)")
        }
        index += expected.count
    }

    private mutating func value(depth: Int) throws(DynamicProtoError) -> JSONValue {
        guard depth < depthLimit else { throw DynamicProtoError(.tooDeep, "JSON nests deeper than \(depthLimit) levels") }
        guard index < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [JSONMember] = []
            var names = Set<String>()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try string()
                guard names.insert(name).inserted else { throw error("the member \"\(name)\" occurs twice") }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                members.append(JSONMember(name: name, value: try value(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of JSON in an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("expected , or } in an object")
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of JSON in an array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw error("expected , or ] in an array")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func number() throws(DynamicProtoError) -> String {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integer = digits()
        guard integer > 0 else { throw error("invalid JSON value") }
        if integer > 1, bytes[index - integer] == UInt8(ascii: "0") { throw error("a number has a leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("a number has no digits after its decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("a number has no exponent digits") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func string() throws(DynamicProtoError) -> String {
        index += 1  // opening quote
        // Built only once an escape turns up: most strings have none and are one slice of the input.
        var scalars: String.UnicodeScalarView?
        var run = index
        func flush(_ end: Int) throws(DynamicProtoError) {
            guard let text = String(validating: bytes[run..<end], as: UTF8.self) else { throw error("a string is not valid UTF-8") }
            scalars = scalars ?? String.UnicodeScalarView()
            scalars?.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw error("a string has no closing quote") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if scalars == nil {
                    guard let text = String(validating: bytes[run..<index], as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                    index += 1
                    return text
                }
                try flush(index)
                index += 1
                return String(scalars ?? String.UnicodeScalarView())
            }
            guard byte >= 0x20 else { throw error("a string contains an unescaped control character") }
            guard byte == UInt8(ascii: "\\") else { index += 1; continue }
            try flush(index)
            index += 1
            guard index < bytes.count else { throw error("a string ends inside an escape") }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "\""): scalars?.append("\"")
            case UInt8(ascii: "\\"): scalars?.append("\\")
            case UInt8(ascii: "/"): scalars?.append("/")
            case UInt8(ascii: "b"): scalars?.append("\u{08}")
            case UInt8(ascii: "f"): scalars?.append("\u{0C}")
            case UInt8(ascii: "n"): scalars?.append("\n")
            case UInt8(ascii: "r"): scalars?.append("\r")
            case UInt8(ascii: "t"): scalars?.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    try expect("\\u")
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired surrogate in a string") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("an unpaired surrogate in a string") }
                scalars?.append(scalar)
            default: throw error("an invalid escape in a string")
            }
            run = index
        }
    }

    private mutating func hex4() throws(DynamicProtoError) -> UInt32 {
        guard bytes.count - index >= 4, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw error("an invalid \\u escape")
        }
        index += 4
        return value
    }
}

/// Writes JSON text.
struct JSONWriter {
    var text = ""

    mutating func string(_ value: String) {
        text.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            case "\u{08}": text.append("\\b")
            case "\u{0C}": text.append("\\f")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text.append("\"")
    }
}
