/// A client's or guest's text echoed in an error message.
public enum EchoedText {
    /// `text` quoted, cut to 100 characters: messages travel in HTTP/2 trailers, and echoing a
    /// client's megabyte-long name back would break the response.
    public static func quote(_ text: String) -> String {
        let clipped = text.count > 100 ? String(text.prefix(100)) + "…" : text
        return clipped.debugDescription
    }
}
