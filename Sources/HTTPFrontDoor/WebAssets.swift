import Hummingbird
import NIOCore

/// The files the HTTP listener serves from the binary: the explorer page at `/` (plain HTML, CSS
/// and JavaScript, no external fonts or scripts) and the JSON API's OpenAPI document at
/// `/openapi.yaml`. They are open to everyone, like health checks: what they show comes from the
/// API, which applies the token rules.
enum WebAssets {
    static let files: [(path: String, contentType: String, bytes: [UInt8])] = [
        ("/", "text/html; charset=utf-8", PackageResources.index_html),
        ("/explorer.js", "text/javascript; charset=utf-8", PackageResources.explorer_js),
        ("/explorer.css", "text/css; charset=utf-8", PackageResources.explorer_css),
        ("/openapi.yaml", "application/yaml", PackageResources.openapi_yaml),
    ]

    static func register(on router: Router<BasicRequestContext>, api: JSONAPI) {
        for file in files {
            let body = ByteBuffer(bytes: file.bytes)
            api.add(.get, file.path, .fixed(.page), router) { _, _, _ -> Response in
                var headers = HTTPFields()
                headers[.contentType] = file.contentType
                headers[.cacheControl] = "no-cache"
                headers[.init("x-content-type-options")!] = "nosniff"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
            }
        }
    }
}
