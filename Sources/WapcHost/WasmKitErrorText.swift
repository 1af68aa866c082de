/// Readable text for what WasmKit throws. WasmKit 0.4.2's error structs (`WasmKitError`,
/// `WasmParserError`: a `kind` and an optional byte `location`) describe a message as
/// `"Message(text: "…")" at offset 0x4`, because their descriptions interpolate a message struct
/// whose text, like the kind and location, is not public. So those are read through reflection
/// and written as `… (at byte 0x4)`; anything else is its own description.
enum WasmKitErrorText {
    static func describe(_ error: any Error) -> String {
        readable(error)?.text ?? String(describing: error)
    }

    /// The text of a value shaped like WasmKit's error structs, and whether it names a location.
    private static func readable(_ value: Any) -> (text: String, located: Bool)? {
        let fields = Mirror(reflecting: value).children
        guard let kind = fields.first(where: { $0.label == "kind" })?.value,
            let (label, payload) = Mirror(reflecting: kind).children.first.map({ ($0.label, $0.value) })
        else { return nil }
        var text: String
        var located = false
        if label == "message" {
            guard let message = Mirror(reflecting: payload).children.first(where: { $0.label == "text" })?.value as? String else { return nil }
            text = message
        } else if let inner = readable(payload) {  // a parser error inside a WasmKit error
            (text, located) = inner
        } else {
            text = String(describing: payload)
        }
        if !located, let location = fields.first(where: { $0.label == "location" })?.value as? Int?, let location {
            text += " (at byte 0x\(String(location, radix: 16)))"
            located = true
        }
        return (text, located)
    }
}
