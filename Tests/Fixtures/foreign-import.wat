;; A waPC-shaped module that imports a function the host does not provide: Add must refuse it.
(module
  (import "env" "launch_missiles" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
