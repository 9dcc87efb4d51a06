;; Imports a function the sandbox does not offer (a made-up host escape): it must not instantiate.
(module
  (import "env" "open_socket" (func $open_socket (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $open_socket (i32.const 80)))))
