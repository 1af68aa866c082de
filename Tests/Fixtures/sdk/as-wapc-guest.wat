;; Shaped after what `@wapc/as-guest` (AssemblyScript) emits (see README.md): the legacy
;; 6-parameter __host_call without a binding, and AssemblyScript's `env.abort`. Operations: hello
;; (host call sample/hello "Simon", answers "Hello"), abort (aborts with "bad input").
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (data (i32.const 32) "abort")
  (data (i32.const 48) "sample")
  (data (i32.const 64) "Simon")
  (data (i32.const 80) "Hello")
  (data (i32.const 96) "Could not find function \"")  ;; 25 bytes
  ;; AssemblyScript strings: UTF-16LE, byte length in the 4 bytes before the pointer.
  (data (i32.const 252) "\12\00\00\00b\00a\00d\00 \00i\00n\00p\00u\00t\00")          ;; "bad input" at 256
  (data (i32.const 316) "\10\00\00\00h\00e\00l\00l\00o\00.\00t\00s\00")              ;; "hello.ts" at 320

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

  (func (export "__guest_call") (param $op_len i32) (param $len i32) (result i32)
    (if (i32.gt_u (local.get $op_len) (i32.const 256)) (then unreachable))
    (if (i32.gt_u (local.get $len) (i32.const 30000)) (then unreachable))
    (call $guest_request (i32.const 1024) (i32.const 2048))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 16) (i32.const 5))
      (then
        (if (i32.eqz (call $host_call (i32.const 48) (i32.const 6) (i32.const 16) (i32.const 5) (i32.const 64) (i32.const 5)))
          (then unreachable))
        (call $guest_response (i32.const 80) (i32.const 5))
        (return (i32.const 1))))
    (if (call $equal (i32.const 1024) (local.get $op_len) (i32.const 32) (i32.const 5))
      (then (call $abort (i32.const 256) (i32.const 320) (i32.const 12) (i32.const 7)) (unreachable)))
    (memory.copy (i32.const 1536) (i32.const 96) (i32.const 25))
    (memory.copy (i32.const 1561) (i32.const 1024) (local.get $op_len))
    (i32.store8 (i32.add (i32.const 1561) (local.get $op_len)) (i32.const 34))
    (call $guest_error (i32.const 1536) (i32.add (local.get $op_len) (i32.const 26)))
    (i32.const 0))
)
