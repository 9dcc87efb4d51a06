;; Asks to grow its memory by 16384 pages (1 GiB) at run time. memory.grow answers -1 past the limit,
;; and the module then exits with code 3, printing "grow refused"; it prints "grew" if it got the memory.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "grow refused\n")
  (data (i32.const 120) "grew\n")
  (func $say (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1))
      (then (call $say (i32.const 100) (i32.const 13)) (call $proc_exit (i32.const 3)))
      (else (call $say (i32.const 120) (i32.const 5))))))
