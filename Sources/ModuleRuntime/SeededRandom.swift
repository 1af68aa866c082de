import Crypto
import Synchronization
import WapcHost
import WasmRPCCore

/// The random bytes of a transaction (docs/CHAINCODE.md): the seed is
/// SHA-256("wasmrpc random v1" ‖ 0x00 ‖ module id (32 bytes) ‖ nonce), and block i (from 0) of the
/// stream is SHA-256(seed ‖ i as 8 bytes big-endian). Anyone with the transaction's record gets
/// the same bytes.
final class SeededRandom: RandomSource {
    private let seed: [UInt8]
    private struct Position {
        var block: UInt64 = 0
        var buffered: [UInt8] = []
    }
    private let position = Mutex(Position())

    init(module: ModuleID, nonce: [UInt8]) {
        var hash = SHA256()
        hash.update(data: Array("wasmrpc random v1".utf8) + [0])
        hash.update(data: module.bytes)
        hash.update(data: nonce)
        seed = Array(hash.finalize())
    }

    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        position.withLock { position in
            for index in 0..<buffer.count {
                if position.buffered.isEmpty {
                    var hash = SHA256()
                    hash.update(data: seed)
                    hash.update(data: withUnsafeBytes(of: position.block.bigEndian) { Array($0) })
                    position.buffered = Array(hash.finalize()).reversed()
                    position.block += 1
                }
                buffer[index] = position.buffered.removeLast()
            }
        }
    }
}
