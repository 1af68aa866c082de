// Memory comes from wasi-libc's malloc (linked statically; it imports nothing). Swift's runtime
// assumes `posix_memalign` succeeds, so a failure must stop the guest with a trap instead of
// handing the runtime a null pointer. The linker routes calls here with `--wrap=posix_memalign`.

@_extern(c, "__real_posix_memalign")
func __real_posix_memalign(
    _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32

@_cdecl("__wrap_posix_memalign")
public func __wrap_posix_memalign(
    _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32 {
    let status = __real_posix_memalign(result, alignment, size)
    if status != 0 || result.pointee == nil {
        fatalError("out of memory")
    }
    return status
}
