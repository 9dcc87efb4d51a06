;; calculator: a WASI command that evaluates an arithmetic expression.
;;
;; Input (stdin): the tool's arguments as JSON, e.g. {"expression":"(1.5 + 2) * -3"}. The registry has
;; already checked them against the tool's schema, so the program only looks for the "expression" key
;; and reads its string value (no escapes are needed for the characters the schema allows).
;; Output (stdout): the value, with up to 9 decimals and no trailing zeros ("-10.5", "0.3", "42").
;; Errors go to stderr with exit code 1: a syntax error, division by zero, nesting deeper than 100,
;; or a result beyond +-9e15.
;;
;; Grammar: expr := term (('+'|'-') term)* ; term := factor (('*'|'/') factor)* ;
;;          factor := ('-'|'+') factor | '(' expr ')' | number ; number := digits ['.' digits] | '.' digits
;;
;; Build (from the module directory), then commit the .wasm beside this source:
;;   wat2wasm src/main/wat/calculator.wat -o src/main/resources/wasm/calculator.wasm
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))

  ;; 0..15: iovec and counters; 128..191: digit scratch; 256..511: output; 1024..65535: input.
  (memory (export "memory") 1 1)

  (data (i32.const 600) "no \"expression\" string in the input\n")      ;; 600, 36
  (data (i32.const 640) "expected a number, '-' or '('\n")               ;; 640, 30
  (data (i32.const 680) "unexpected character after the expression\n")  ;; 680, 43
  (data (i32.const 730) "division by zero\n")                            ;; 730, 17
  (data (i32.const 750) "result out of range (beyond +-9e15)\n")         ;; 750, 36
  (data (i32.const 790) "expected ')'\n")                                ;; 790, 13
  (data (i32.const 810) "nested too deeply\n")                           ;; 810, 18
  (data (i32.const 830) "\"expression\"")                                ;; 830, 12

  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (global $depth (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 256))

  (func $fail (param $msg i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $msg))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 1))
    unreachable)

  (func $peek (result i32)
    (if (result i32) (i32.lt_u (global.get $pos) (global.get $end))
      (then (i32.load8_u (global.get $pos)))
      (else (i32.const 0))))

  (func $skip_ws
    (block $done
      (loop $next
        (br_if $done (i32.ne (call $peek) (i32.const 32)))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $next))))

  (func $is_digit (param $c i32) (result i32)
    (i32.and (i32.ge_u (local.get $c) (i32.const 48)) (i32.le_u (local.get $c) (i32.const 57))))

  (func $number (result f64)
    (local $v f64) (local $scale f64) (local $c i32) (local $seen i32)
    (local.set $scale (f64.const 1))
    (block $int_done
      (loop $int
        (local.set $c (call $peek))
        (br_if $int_done (i32.eqz (call $is_digit (local.get $c))))
        (local.set $v (f64.add (f64.mul (local.get $v) (f64.const 10))
                               (f64.convert_i32_u (i32.sub (local.get $c) (i32.const 48)))))
        (local.set $seen (i32.const 1))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $int)))
    (if (i32.eq (call $peek) (i32.const 46))
      (then
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (block $frac_done
          (loop $frac
            (local.set $c (call $peek))
            (br_if $frac_done (i32.eqz (call $is_digit (local.get $c))))
            (local.set $v (f64.add (f64.mul (local.get $v) (f64.const 10))
                                   (f64.convert_i32_u (i32.sub (local.get $c) (i32.const 48)))))
            (local.set $scale (f64.mul (local.get $scale) (f64.const 10)))
            (local.set $seen (i32.const 1))
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (br $frac)))))
    (if (i32.eqz (local.get $seen)) (then (call $fail (i32.const 640) (i32.const 30))))
    (f64.div (local.get $v) (local.get $scale)))

  (func $factor (result f64)
    (local $c i32) (local $v f64)
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (if (i32.gt_u (global.get $depth) (i32.const 100)) (then (call $fail (i32.const 810) (i32.const 18))))
    (call $skip_ws)
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const 45))
      (then
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (local.set $v (f64.neg (call $factor))))
      (else (if (i32.eq (local.get $c) (i32.const 43))
        (then
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
          (local.set $v (call $factor)))
        (else (if (i32.eq (local.get $c) (i32.const 40))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $v (call $expr))
            (call $skip_ws)
            (if (i32.ne (call $peek) (i32.const 41)) (then (call $fail (i32.const 790) (i32.const 13))))
            (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
          (else (local.set $v (call $number))))))))
    (call $skip_ws)
    (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
    (local.get $v))

  (func $term (result f64)
    (local $v f64) (local $c i32) (local $rhs f64)
    (local.set $v (call $factor))
    (block $done
      (loop $next
        (local.set $c (call $peek))
        (if (i32.eq (local.get $c) (i32.const 42))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $v (f64.mul (local.get $v) (call $factor)))
            (br $next)))
        (if (i32.eq (local.get $c) (i32.const 47))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $rhs (call $factor))
            (if (f64.eq (local.get $rhs) (f64.const 0)) (then (call $fail (i32.const 730) (i32.const 17))))
            (local.set $v (f64.div (local.get $v) (local.get $rhs)))
            (br $next)))))
    (local.get $v))

  (func $expr (result f64)
    (local $v f64) (local $c i32)
    (local.set $v (call $term))
    (block $done
      (loop $next
        (local.set $c (call $peek))
        (if (i32.eq (local.get $c) (i32.const 43))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $v (f64.add (local.get $v) (call $term)))
            (br $next)))
        (if (i32.eq (local.get $c) (i32.const 45))
          (then
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (local.set $v (f64.sub (local.get $v) (call $term)))
            (br $next)))))
    (local.get $v))

  (func $emit (param $c i32)
    (i32.store8 (global.get $out) (local.get $c))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  ;; Writes an unsigned integer in decimal.
  (func $emit_u64 (param $n i64)
    (local $p i32)
    (local.set $p (i32.const 191))
    (loop $digits
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $n) (i64.const 0))))
    (block $done
      (loop $copy
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $done (i32.gt_u (local.get $p) (i32.const 191)))
        (call $emit (i32.load8_u (local.get $p)))
        (br $copy))))

  (func $print (param $x f64)
    (local $neg i32) (local $ip i64) (local $f i64) (local $width i32) (local $div i64)
    ;; NaN fails the comparison below as well as the infinities.
    (if (i32.eqz (f64.le (f64.abs (local.get $x)) (f64.const 9e15)))
      (then (call $fail (i32.const 750) (i32.const 36))))
    (local.set $neg (f64.lt (local.get $x) (f64.const 0)))
    (local.set $x (f64.abs (local.get $x)))
    (local.set $ip (i64.trunc_f64_u (f64.trunc (local.get $x))))
    (local.set $f (i64.trunc_f64_u (f64.nearest (f64.mul (f64.sub (local.get $x) (f64.trunc (local.get $x)))
                                                         (f64.const 1e9)))))
    (if (i64.ge_u (local.get $f) (i64.const 1000000000))
      (then (local.set $ip (i64.add (local.get $ip) (i64.const 1))) (local.set $f (i64.const 0))))
    (if (i32.and (local.get $neg) (i64.ne (i64.or (local.get $ip) (local.get $f)) (i64.const 0)))
      (then (call $emit (i32.const 45))))
    (call $emit_u64 (local.get $ip))
    (if (i64.ne (local.get $f) (i64.const 0))
      (then
        (call $emit (i32.const 46))
        ;; nine digits with leading zeros, then drop the trailing zeros
        (local.set $div (i64.const 100000000))
        (loop $digit
          (call $emit (i32.add (i32.const 48) (i32.wrap_i64 (i64.div_u (local.get $f) (local.get $div)))))
          (local.set $f (i64.rem_u (local.get $f) (local.get $div)))
          (local.set $div (i64.div_u (local.get $div) (i64.const 10)))
          (br_if $digit (i64.ne (local.get $div) (i64.const 0))))
        (block $trimmed
          (loop $trim
            (br_if $trimmed (i32.ne (i32.load8_u (i32.sub (global.get $out) (i32.const 1))) (i32.const 48)))
            (global.set $out (i32.sub (global.get $out) (i32.const 1)))
            (br $trim)))))
    (call $emit (i32.const 10))
    (i32.store (i32.const 0) (i32.const 256))
    (i32.store (i32.const 4) (i32.sub (global.get $out) (i32.const 256)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; Index of the first occurrence of the 12 bytes at 830 in [1024, $len), or -1.
  (func $find_key (param $len i32) (result i32)
    (local $i i32) (local $j i32)
    (local.set $i (i32.const 1024))
    (block $none
      (loop $outer
        (br_if $none (i32.gt_u (i32.add (local.get $i) (i32.const 12)) (local.get $len)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (br_if $mismatch (i32.ne (i32.load8_u (i32.add (local.get $i) (local.get $j)))
                                     (i32.load8_u (i32.add (i32.const 830) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (if (i32.eq (local.get $j) (i32.const 12)) (then (return (local.get $i))))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  (func $skip_json_ws
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (call $peek))
        (br_if $done (i32.eqz (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                                      (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $next))))

  (func (export "_start")
    (local $len i32) (local $at i32) (local $v f64)
    ;; read all of stdin into 1024.. (at most 64,512 bytes)
    (local.set $len (i32.const 1024))
    (block $eof
      (loop $read
        (br_if $eof (i32.ge_u (local.get $len) (i32.const 65536)))
        (i32.store (i32.const 0) (local.get $len))
        (i32.store (i32.const 4) (i32.sub (i32.const 65536) (local.get $len)))
        (br_if $eof (i32.ne (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (local.set $len (i32.add (local.get $len) (i32.load (i32.const 8))))
        (br $read)))
    ;; find "expression" : "<value>"
    (local.set $at (call $find_key (local.get $len)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then (call $fail (i32.const 600) (i32.const 36))))
    (global.set $pos (i32.add (local.get $at) (i32.const 12)))
    (global.set $end (local.get $len))
    (call $skip_json_ws)
    (if (i32.ne (call $peek) (i32.const 58)) (then (call $fail (i32.const 600) (i32.const 36))))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
    (call $skip_json_ws)
    (if (i32.ne (call $peek) (i32.const 34)) (then (call $fail (i32.const 600) (i32.const 36))))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
    ;; the value ends at the next quote
    (local.set $at (global.get $pos))
    (block $found
      (loop $scan
        (br_if $found (i32.ge_u (local.get $at) (local.get $len)))
        (br_if $found (i32.eq (i32.load8_u (local.get $at)) (i32.const 34)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $scan)))
    (if (i32.ge_u (local.get $at) (local.get $len)) (then (call $fail (i32.const 600) (i32.const 36))))
    (global.set $end (local.get $at))
    (local.set $v (call $expr))
    (call $skip_ws)
    (if (i32.lt_u (global.get $pos) (global.get $end)) (then (call $fail (i32.const 680) (i32.const 43))))
    (call $print (local.get $v)))
)
