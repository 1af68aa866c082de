;; A data segment that ends past the end of memory: instantiation must fail, nothing is written.
(module
  (memory (export "memory") 1)
  (data (i32.const 65530) "0123456789")
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))
