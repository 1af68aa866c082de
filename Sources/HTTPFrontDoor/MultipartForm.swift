import CallCore
import WasmRPCCore

/// The parts of a `multipart/form-data` body (RFC 7578) by their `name`: what `POST /v1/modules`
/// takes (a browser form or `curl -F`). Only what such forms send is read: each part's
/// `Content-Disposition` name; other part headers are ignored.
enum MultipartForm {
    /// The parts of `body`, sent with `contentType` (`multipart/form-data; boundary=…`). A name
    /// given twice is refused, as is a body that is not well formed.
    static func parse(_ body: [UInt8], contentType: String?) throws(CallError) -> [String: [UInt8]] {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = parameter("boundary", of: contentType), !boundary.isEmpty
        else {
            throw CallError(.invalidArgument, "send the module as multipart/form-data (with a boundary), e.g. curl -F wasm=@m.wasm")
        }
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = find(delimiter, in: body, from: 0) else {
            throw CallError(.invalidArgument, "the multipart body has no part (no boundary line)")
        }
        var parts: [String: [UInt8]] = [:]
        while true {
            position += delimiter.count
            // "--" after the boundary ends the body.
            if body.count >= position + 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { return parts }
            guard body.count >= position + 2, body[position] == 13, body[position + 1] == 10,
                let headersEnd = find(Array("\r\n\r\n".utf8), in: body, from: position + 2)
            else { throw CallError(.invalidArgument, "a multipart part is not well formed") }
            let headers = String(decoding: body[(position + 2)..<headersEnd], as: UTF8.self)
            let start = headersEnd + 4
            guard let end = find(Array("\r\n".utf8) + delimiter, in: body, from: start) else {
                throw CallError(.invalidArgument, "the multipart body ends inside a part")
            }
            guard let name = partName(headers) else {
                throw CallError(.invalidArgument, "a multipart part has no Content-Disposition name")
            }
            guard parts[name] == nil else {
                throw CallError(.invalidArgument, "the multipart body has two parts named \(EchoedText.quote(name))")
            }
            parts[name] = Array(body[start..<end])
            position = end + 2
        }
    }

    /// The `name` of a part's `Content-Disposition: form-data; name="…"` header.
    private static func partName(_ headers: String) -> String? {
        for line in headers.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2, pieces[0].lowercased() == "content-disposition" else { continue }
            return parameter("name", of: String(pieces[1]))
        }
        return nil
    }

    /// A `; key=value` or `; key="value"` parameter of a header value.
    static func parameter(_ key: String, of value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == key else { continue }
            var text = pair[1].trimmingSpaces
            if text.count >= 2, text.first == "\"", text.last == "\"" { text = text.dropFirst().dropLast() }
            return String(text)
        }
        return nil
    }

    /// The first index of `needle` in `haystack` at or after `start`.
    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
