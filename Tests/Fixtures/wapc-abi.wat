;; A waPC guest in WAT that uses every function of the host ABI. Operations:
;;   echo      respond with the payload
;;   hostcall  send the payload to the host (binding "test-binding", namespace "test",
;;             operation "reply"); respond with the host's response, or fail with its error
;;   fail      fail with "boom"
;;   log       __console_log the payload, respond with nothing
;;   other     fail with "unknown operation"
;; Memory: operation at 256 (≤ 256 bytes), payload at 1024, host answers after the payload.
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
  (memory (export "memory") 1)
  (data (i32.const 0) "echo")
  (data (i32.const 16) "hostcall")
  (data (i32.const 32) "fail")
  (data (i32.const 48) "log")
  (data (i32.const 64) "test-binding")
  (data (i32.const 80) "test")
  (data (i32.const 96) "reply")
  (data (i32.const 112) "boom")
  (data (i32.const 128) "unknown operation")

  ;; Grows memory so that [0, end) is addressable.
  (func $ensure (param $end i32)
    (local $need i32)
    (local.set $need
      (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable)))))

  (func $equal (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  (func (export "__guest_call") (param $oplen i32) (param $len i32) (result i32)
    (local $n i32) (local $answer i32)
    (if (i32.gt_u (local.get $oplen) (i32.const 256))
      (then (call $guest_error (i32.const 128) (i32.const 17)) (return (i32.const 0))))
    (call $ensure (i32.add (i32.const 1024) (local.get $len)))
    (call $guest_request (i32.const 256) (i32.const 1024))
    (if (call $equal (i32.const 256) (local.get $oplen) (i32.const 0) (i32.const 4))
      (then (call $guest_response (i32.const 1024) (local.get $len)) (return (i32.const 1))))
    (if (call $equal (i32.const 256) (local.get $oplen) (i32.const 16) (i32.const 8))
      (then
        (local.set $answer (i32.add (i32.const 1024) (local.get $len)))
        (if (call $host_call (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 4)
                             (i32.const 96) (i32.const 5) (i32.const 1024) (local.get $len))
          (then
            (local.set $n (call $host_response_len))
            (call $ensure (i32.add (local.get $answer) (local.get $n)))
            (call $host_response (local.get $answer))
            (call $guest_response (local.get $answer) (local.get $n))
            (return (i32.const 1))))
        (local.set $n (call $host_error_len))
        (call $ensure (i32.add (local.get $answer) (local.get $n)))
        (call $host_error (local.get $answer))
        (call $guest_error (local.get $answer) (local.get $n))
        (return (i32.const 0))))
    (if (call $equal (i32.const 256) (local.get $oplen) (i32.const 32) (i32.const 4))
      (then (call $guest_error (i32.const 112) (i32.const 4)) (return (i32.const 0))))
    (if (call $equal (i32.const 256) (local.get $oplen) (i32.const 48) (i32.const 3))
      (then
        (call $console_log (i32.const 1024) (local.get $len))
        (call $guest_response (i32.const 0) (i32.const 0))
        (return (i32.const 1))))
    (call $guest_error (i32.const 128) (i32.const 17))
    (i32.const 0))
)
