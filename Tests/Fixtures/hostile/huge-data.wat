;; A module that is mostly one data segment. The tests replace DATA with as many bytes as they need
;; (8 MiB in the memory measurement, just over --max-module-bytes for the size check); 512 pages
;; (32 MiB) of memory hold it. Every instance copies the segment in, so this measures what the
;; per-instance memory cap and the idle-instance bound have to hold back.
(module
  (import "wapc" "__guest_response" (func $respond (param i32 i32)))
  (memory (export "memory") 512)
  (data (i32.const 0) "DATA")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $respond (i32.const 0) (i32.const 0))  ;; an empty answer: a valid empty message
    (i32.const 1)))
