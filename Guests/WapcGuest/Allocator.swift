import Builtin

// The heap of a guest: the Embedded Swift runtime allocates through `posix_memalign` and `free`,
// which the linker routes here (`--wrap=posix_memalign --wrap=free`), so wasi-libc's dlmalloc is
// never linked. dlmalloc cost ~3,500 wasm instructions per allocation on this path (its memalign
// route), more than the rest of an echo call; this allocator costs a few dozen.
//
// Segregated free lists with power-of-two size classes: a block of class k is 2^k bytes, starting
// with a 16-byte header holding k, so `free` needs no size. Blocks come from a bump pointer over
// pages added with `memory.grow`, and freed blocks go back on their class's list, never to the
// system. Every block and every returned pointer is 16-byte aligned. Running out of memory traps:
// Swift's runtime assumes allocation succeeds, so a null pointer would only fault later.

private let headerSize: UInt = 16
private let classCount = 32
private let pageSize: UInt = 65536

nonisolated(unsafe) private var freeLists: UnsafeMutablePointer<UInt32>? = nil
nonisolated(unsafe) private var top: UInt = 0
nonisolated(unsafe) private var end: UInt = 0

@inline(__always)
private func trap() -> Never { Builtin.int_trap() }

private func currentPages() -> UInt {
    UInt(Int32(Builtin.int_wasm_memory_size_Int32(Builtin.zeroInitializer())))
}

/// Reserves `size` bytes at the bump pointer, growing memory by whole pages when needed.
private func bump(_ size: UInt) -> UInt {
    let block = top
    let (newTop, overflow) = top.addingReportingOverflow(size)
    if overflow { trap() }
    if newTop > end {
        let pages = (newTop - end + pageSize - 1) / pageSize
        guard pages <= UInt(Int32.max) else { trap() }
        let previous = Int32(Builtin.int_wasm_memory_grow_Int32(Builtin.zeroInitializer(), Int32(pages)._value))
        if previous < 0 { trap() }
        end += pages * pageSize
    }
    top = newTop
    return block
}

private func lists() -> UnsafeMutablePointer<UInt32> {
    if let freeLists { return freeLists }
    // The heap starts at the end of the module's initial memory (past data and stack).
    top = currentPages() * pageSize
    end = top
    let heads = UnsafeMutablePointer<UInt32>(bitPattern: bump(UInt(classCount) * 4)).unsafelyUnwrapped
    for index in 0..<classCount { heads[index] = 0 }
    freeLists = heads
    return heads
}

private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
    let heads = lists()
    let needed = UInt(bitPattern: size) &+ headerSize
    guard needed > UInt(bitPattern: size) else { trap() }
    // The smallest class whose block holds `needed` bytes (at least 32: header + a link).
    let sizeClass = max(5, UInt.bitWidth - (needed - 1).leadingZeroBitCount)
    guard sizeClass < classCount else { trap() }
    let block: UInt
    if heads[sizeClass] != 0 {
        block = UInt(heads[sizeClass])
        heads[sizeClass] = UnsafeMutablePointer<UInt32>(bitPattern: block + headerSize).unsafelyUnwrapped.pointee
    } else {
        block = bump(1 << UInt(sizeClass))
    }
    UnsafeMutablePointer<UInt32>(bitPattern: block).unsafelyUnwrapped.pointee = UInt32(sizeClass)
    return UnsafeMutableRawPointer(bitPattern: block + headerSize).unsafelyUnwrapped
}

@_cdecl("__wrap_posix_memalign")
public func __wrap_posix_memalign(
    _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32 {
    // Blocks are 16-byte aligned; Embedded Swift on wasm32 never asks for more.
    if alignment > Int(headerSize) { trap() }
    result.pointee = allocate(size)
    return 0
}

@_cdecl("__wrap_free")
public func __wrap_free(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer, let heads = freeLists else { return }
    let block = UInt(bitPattern: pointer) - headerSize
    let sizeClass = Int(UnsafeMutablePointer<UInt32>(bitPattern: block).unsafelyUnwrapped.pointee)
    guard sizeClass < classCount else { trap() }
    UnsafeMutablePointer<UInt32>(bitPattern: block + headerSize).unsafelyUnwrapped.pointee = heads[sizeClass]
    heads[sizeClass] = UInt32(block)
}
