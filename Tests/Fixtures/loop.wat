;; A waPC guest whose every call loops forever: `wasmrpc call Tests/Fixtures/loop.wat run --timeout 200ms`
;; must stop it and say it ran out of time.
(module
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
