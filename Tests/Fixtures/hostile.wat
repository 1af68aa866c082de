;; A hostile waPC guest. The operation is chosen by the LENGTH of the operation name (the tests
;; call e.g. "xxx" for case 3), so the guest never has to read the name:
;;   1  __guest_request to a pointer near 4 GiB            → guestFault
;;   2  __guest_response with ptr+len past memory         → guestFault
;;   3  __host_call with a payload pointer of -1          → guestFault
;;   4  __console_log past the end of memory              → guestFault
;;   5  __guest_response twice                            → guestFault
;;   6  __host_response with no pending response          → guestFault
;;   7  unreachable                                       → trapped
;;   8  infinite loop                                     → deadlineExceeded / outOfFuel
;;   9  memory.grow until refused, then unreachable       → memoryLimit
;;  10  unbounded recursion                               → trapped (call stack exhausted)
;;  11  respond with all of memory (64 KiB)               → limitExceeded when the cap is lower
;;  12  host calls forever                                → limitExceeded
;;  13  integer division by zero                          → trapped
;;  14  __guest_error with ptr = 0xFFFFFFFF, len 2 (wraps in 32 bits) → guestFault
;;  15  respond "fine"                                    → a well-behaved call
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "fine")

  (func $recurse (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))

  (func (export "__guest_call") (param $oplen i32) (param $len i32) (result i32)
    (block $default
      (block $c15 (block $c14 (block $c13 (block $c12 (block $c11 (block $c10 (block $c9 (block $c8
      (block $c7 (block $c6 (block $c5 (block $c4 (block $c3 (block $c2 (block $c1
        (br_table $default $c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8 $c9 $c10 $c11 $c12 $c13 $c14 $c15 $default
          (local.get $oplen)))
      ;; 1
      (call $guest_request (i32.const 0xFFFFFFF0) (i32.const 0))
      (return (i32.const 0)))
      ;; 2
      (call $guest_response (i32.const 0xFFFF0000) (i32.const 0x20000))
      (return (i32.const 1)))
      ;; 3
      (drop (call $host_call (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)
                             (i32.const 0) (i32.const 1) (i32.const -1) (i32.const 10)))
      (return (i32.const 0)))
      ;; 4
      (call $console_log (i32.const 65530) (i32.const 100))
      (return (i32.const 0)))
      ;; 5
      (call $guest_response (i32.const 0) (i32.const 4))
      (call $guest_response (i32.const 0) (i32.const 4))
      (return (i32.const 1)))
      ;; 6
      (call $host_response (i32.const 0))
      (return (i32.const 0)))
      ;; 7
      unreachable)
      ;; 8
      (loop $forever (br $forever))
      (return (i32.const 0)))
      ;; 9
      (loop $grow
        (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable)
      ;; 10
      (return (call $recurse (i32.const 0))))
      ;; 11
      (call $guest_response (i32.const 0) (i32.mul (memory.size) (i32.const 65536)))
      (return (i32.const 1)))
      ;; 12
      (loop $again
        (drop (call $host_call (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)
                               (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 4)))
        (br $again))
      (return (i32.const 0)))
      ;; 13
      (return (i32.div_u (i32.const 1) (i32.sub (local.get $oplen) (i32.const 13)))))
      ;; 14
      (call $guest_error (i32.const 0xFFFFFFFF) (i32.const 2))
      (return (i32.const 0)))
      ;; 15
      (call $guest_response (i32.const 0) (i32.const 4))
      (return (i32.const 1)))
    (i32.const 0))
)
