import Foundation
import CallCore
import Testing
@testable import HTTPFrontDoor

/// The pieces of the JSON API that need no server: multipart forms, gRPC codes as HTTP statuses,
/// query parameters.
struct JSONAPIPartsTests {
    private func form(_ parts: [(String, String)], boundary: String = "XyZ") -> [UInt8] {
        var text = ""
        for (name, value) in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n\(value)\r\n"
        }
        return Array((text + "--\(boundary)--\r\n").utf8)
    }

    @Test func multipartPartsByName() throws {
        let body = form([("wasm", "\0asm\r\n--not-the-boundary"), ("name", "complex")])
        let parts = try MultipartForm.parse(body, contentType: "multipart/form-data; boundary=\"XyZ\"")
        #expect(parts["wasm"] == Array("\0asm\r\n--not-the-boundary".utf8))
        #expect(parts["name"] == Array("complex".utf8))
        #expect(parts.count == 2)
    }

    @Test func malformedFormsAreRefused() {
        let good = form([("wasm", "x")])
        for (body, type) in [
            (good, "application/json"), (good, "multipart/form-data"), (good, "multipart/form-data; boundary=other"),
            (Array(good.dropLast(12)), "multipart/form-data; boundary=XyZ"),
            (form([("wasm", "x"), ("wasm", "y")]), "multipart/form-data; boundary=XyZ"),
            (Array("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n".utf8), "multipart/form-data; boundary=XyZ"),
        ] {
            #expect(throws: CallError.self) { try MultipartForm.parse(body, contentType: type) }
        }
    }

    @Test func statusesMapTheUsualWay() {
        #expect(APIStatus.http(.notFound) == 404 && CallStatus.notFound.name == "NOT_FOUND")
        #expect(APIStatus.http(.invalidArgument) == 400 && CallStatus.invalidArgument.name == "INVALID_ARGUMENT")
        #expect(APIStatus.http(.deadlineExceeded) == 504 && CallStatus.deadlineExceeded.name == "DEADLINE_EXCEEDED")
        #expect(APIStatus.http(.resourceExhausted) == 429 && CallStatus.resourceExhausted.name == "RESOURCE_EXHAUSTED")
        #expect(APIStatus.http(.unauthenticated) == 401 && CallStatus.unauthenticated.name == "UNAUTHENTICATED")
        #expect(APIStatus.http(.unavailable) == 503 && CallStatus.unavailable.name == "UNAVAILABLE")
        #expect(APIStatus.http(.failedPrecondition) == 400 && CallStatus.failedPrecondition.name == "FAILED_PRECONDITION")
    }

    @Test func queryNumbersAndBytes() throws {
        #expect(try JSONAPI.number("42", "n") == 42)
        #expect(throws: CallError.self) { try JSONAPI.number("-1", "n") }
        #expect(throws: CallError.self) { try JSONAPI.number("5", "n", max: 4) }
        #expect(throws: CallError.self) { try JSONAPI.number("１", "n") }
        #expect(try JSONAPI.bytes("Q0FSMA", "k") == Data("CAR0".utf8))
        #expect(try JSONAPI.bytes("-_8=", "k") == Data([0xFB, 0xFF]))
        #expect(throws: CallError.self) { try JSONAPI.bytes("not base64!", "k") }
    }

    @Test func datesAreIMFFixdate() {
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(1_796_655_845) == "Mon, 07 Dec 2026 15:04:05 GMT")
        #expect(HTTPDate.now().hasSuffix(" GMT"))
    }

    @Test func timesAreRFC3339InUTCWithMilliseconds() {
        #expect(APIModel.time(seconds: 0, nanos: 0) == "1970-01-01T00:00:00.000Z")
        #expect(APIModel.time(seconds: 1_796_652_650, nanos: 675_000_000) == "2026-12-07T14:10:50.675Z")
        #expect(APIModel.time(seconds: 1_796_652_650, nanos: 123_999_999) == "2026-12-07T14:10:50.123Z")
    }

    @Test func onlyJSONIsACallsContentType() {
        for type in ["application/json", "Application/JSON; charset=utf-8", " application/json ", "application/json;"] {
            #expect(JSONAPI.isJSON(type), "\(type)")
        }
        for type in ["application/jsonx", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jso"] {
            #expect(!JSONAPI.isJSON(type), "\(type)")
        }
        #expect(!JSONAPI.isJSON(nil))
    }
}
