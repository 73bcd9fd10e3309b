;; Grows its function table by 10 million entries at a time until a grow is refused, then traps.
;;
;; Guest: wasm.
;;
;; Hand-written, since Rust has no `table.grow`: `faasrt-example-artifacts`
;; converts it to a module with the `wat` crate. It imports nothing. Each
;; `table.grow` asks the host for 10,000,000 more (null) funcref entries, some
;; 80 MB of host memory that no memory limit on the linear memory covers;
;; it keeps going while grows succeed, and once one returns -1 (refused by a
;; table limit, or past the 2^32 entries a table can index) it executes
;; `unreachable`, so it ends with a trap rather than a clean exit.
(module
  (table $table 1 funcref)
  (memory (export "memory") 0)
  (func $start (export "_start")
    (loop $grow
      (br_if $grow
        (i32.ne
          (table.grow $table (ref.null func) (i32.const 10000000))
          (i32.const -1))))
    unreachable))
