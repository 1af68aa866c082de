;; Shaped after what `wapc-guest-tinygo` built with `tinygo build -target=wasi` emits (see README.md).
;; `_start` runs the runtime's WASI start-up calls, registers the functions and ends with
;; proc_exit(0). Operations: hello (host call myBinding/sample/hello "Simon", answers "Hello"),
;; time (realtime clock, 8 bytes little-endian), random (16 random bytes), print (payload to stdout).
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (global $registered (mut i32) (i32.const 0))
  (data (i32.const 16) "hello")
  (data (i32.const 32) "time")
  (data (i32.const 48) "random")
  (data (i32.const 64) "print")
  (data (i32.const 80) "myBinding")
  (data (i32.const 96) "sample")
  (data (i32.const 112) "Simon")
  (data (i32.const 128) "Hello")
  (data (i32.const 144) "tinygo runtime ready\n")  ;; 21 bytes
  (data (i32.const 176) "Could not find function \"")  ;; 25 bytes
  ;; scratch: 512.. iovec and results, 1024.. operation, 2048.. payload

  (func $equal (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 1))

  ;; Writes [ptr, ptr+len) to stdout with fd_write; traps unless it succeeds.
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 512) (local.get $ptr))
    (i32.store (i32.const 516) (local.get $len))
    (if (call $fd_write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const 520)) (then unreachable)))

  (func (export "_start")
    ;; What a Go runtime asks at start-up: arguments, environment, preopens, a clock, a seed.
    (if (call $args_sizes_get (i32.const 600) (i32.const 604)) (then unreachable))
    (if (call $environ_sizes_get (i32.const 600) (i32.const 604)) (then unreachable))
    (if (i32.ne (call $fd_prestat_get (i32.const 3) (i32.const 600)) (i32.const 8)) (then unreachable))  ;; EBADF: none
    (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 608)) (then unreachable))
    (if (call $random_get (i32.const 616) (i32.const 8)) (then unreachable))
    (call $print (i32.const 144) (i32.const 21))
    (global.set $registered (i32.const 1))
    (call $proc_exit (i32.const 0)))

  (func (export "__guest_call") (param $op_len i32) (param $len i32) (result i32)
    (if (i32.or (i32.eqz (global.get $registered)) (i32.gt_u (local.get $op_len) (i32.const 512))) (then unreachable))
    (if (i32.gt_u (local.get $len) (i32.const 60000)) (then unreachable))
    (call $guest_request (i32.const 1024) (i32.const 2048))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 16) (i32.const 5))
      (then
        (if (i32.eqz (call $host_call (i32.const 80) (i32.const 9) (i32.const 96) (i32.const 6) (i32.const 16) (i32.const 5)
                                      (i32.const 112) (i32.const 5)))
          (then unreachable))
        (call $guest_response (i32.const 128) (i32.const 5))
        (return (i32.const 1))))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 32) (i32.const 4))
      (then
        (if (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 608)) (then unreachable))
        (call $guest_response (i32.const 608) (i32.const 8))
        (return (i32.const 1))))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 48) (i32.const 6))
      (then
        (if (call $random_get (i32.const 640) (i32.const 16)) (then unreachable))
        (call $guest_response (i32.const 640) (i32.const 16))
        (return (i32.const 1))))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 64) (i32.const 5))
      (then
        (call $print (i32.const 2048) (local.get $len))
        (call $guest_response (i32.const 0) (i32.const 0))
        (return (i32.const 1))))
    ;; `Could not find function "` + operation + `"`, built at 1536
    (memory.copy (i32.const 1536) (i32.const 176) (i32.const 25))
    (memory.copy (i32.const 1561) (i32.const 1024) (local.get $op_len))
    (i32.store8 (i32.add (i32.const 1561) (local.get $op_len)) (i32.const 34))
    (call $guest_error (i32.const 1536) (i32.add (local.get $op_len) (i32.const 26)))
    (i32.const 0))
)
