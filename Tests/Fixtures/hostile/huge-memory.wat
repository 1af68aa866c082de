(module
  (memory (export "memory") 4000)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
