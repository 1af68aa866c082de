import Foundation
import WAT

/// Reads a module from disk: binary `.wasm`, or WebAssembly text (assembled in-process), so a
/// guest written in WAT can be tried without wabt.
enum ModuleFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read module \(path)")
        }
        let bytes = Array(data)
        guard !bytes.starts(with: [0x00, 0x61, 0x73, 0x6D]), path.hasSuffix(".wat") || isText(bytes) else { return bytes }
        do {
            return try wat2wasm(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw CommandFailure("\(path) is not valid WebAssembly text: \(error)")
        }
    }

    private static func isText(_ bytes: [UInt8]) -> Bool {
        let start = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
        return start.starts(with: Array("(module".utf8)) || start.starts(with: Array(";;".utf8))
    }
}

/// A command's failure, printed as one line on stderr.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
