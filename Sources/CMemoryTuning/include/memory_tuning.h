#ifndef WASMRPC_MEMORY_TUNING_H
#define WASMRPC_MEMORY_TUNING_H

#if defined(__linux__)
#include <malloc.h>  // (also defines __GLIBC__ on glibc, which the check below needs)
#endif

/// Serves every allocation of at least `bytes` with its own mapping, handed back to the system when
/// freed, and turns off glibc's dynamic threshold (which otherwise rises to 32 MiB after the first
/// large free, so that guest memories of a few MiB end up in per-thread arenas that keep them).
/// Returns 1 if applied, 0 where the C library has no such setting.
static inline int wasmrpc_set_mmap_threshold(int bytes) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

#endif
