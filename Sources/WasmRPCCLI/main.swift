import CMemoryTuning
import WasmRPCCommands

// Guest memories (up to --memory-limit each) come and go as instances are made and dropped. With
// glibc's default dynamic threshold they end up in per-thread arenas that keep them after the
// instances are gone (the hostile corpus grew the server by ~200 MiB in 6 rounds; with this, ~25 MiB
// then flat: docs/RELIABILITY.md). It must run first: set later (in `serve`), it made no difference.
_ = wasmrpc_set_mmap_threshold(1 << 20)
await WasmRPC.runFromCommandLine()
