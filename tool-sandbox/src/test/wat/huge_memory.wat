;; Declares 16384 pages (1 GiB) of memory at start: the sandbox must refuse to instantiate it.
(module
  (memory (export "memory") 16384)
  (func (export "_start")))
