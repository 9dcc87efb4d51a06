;; Loops for ever without calling anything: the sandbox must stop it at the wall-clock limit.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
