//! Functions for tests: the built example functions, and small modules
//! written in WebAssembly text that each do one thing (count, exit, trap,
//! loop, flood, sleep, probe their environment, pre-initialize, answer
//! fixed bytes).

/// The wasm bytes of an example function.
pub fn example(name: &str) -> &'static [u8] {
    faasrt_example_artifacts::get(name)
        .unwrap_or_else(|| panic!("example {name} is built"))
        .wasm
}

/// Compiles WebAssembly text into module bytes.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("fixture is valid WAT")
}

/// A module that counts its runs in a mutable global and in linear memory,
/// and prints the count: a fresh instance always prints "1".
pub fn counter_module() -> Vec<u8> {
    wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (global $runs (mut i32) (i32.const 0))
        (data (i32.const 16) "0")
        (func (export "_start")
            (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
            (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (global.get $runs)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#)
}

/// A module that writes `message` to its log (fd 2) and exits with `code`.
pub fn exit_module(code: i32, message: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "{message}")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $exit (i32.const {code}))))"#,
        len = message.len()
    ))
}

/// A module that writes what it reads from faasin (one read, up to 4 KiB)
/// to its log (fd 2), and nothing to faasout.
pub fn log_echo_module() -> Vec<u8> {
    wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 4096))
            (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 12)))))"#)
}

/// A module whose `_start` traps at once.
pub fn trap_module() -> Vec<u8> {
    wat(r#"(module (func (export "_start") unreachable))"#)
}

/// A module whose `_start` never returns.
pub fn loop_module() -> Vec<u8> {
    wat(r#"(module (func (export "_start") (loop $l (br $l))))"#)
}

/// A module that writes to faasout forever.
pub fn flood_module() -> Vec<u8> {
    flood_module_on(1)
}

/// A module that writes 60000 bytes at a time to descriptor `fd` forever.
pub fn flood_module_on(fd: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 60000))
            (loop $l
                (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l))))"#
    ))
}

/// A module that sleeps `ms` milliseconds (WASI `poll_oneoff` on a relative
/// clock) and then prints `text`.
pub fn sleepy_module(ms: u64, text: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 512) "{text}")
        (func (export "_start")
            ;; subscription at 0: userdata 0, tag 0 (clock), clock id 1
            ;; (monotonic), timeout in ns, precision 0, flags 0 (relative)
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const {ns}))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
            (i32.store (i32.const 256) (i32.const 512))
            (i32.store (i32.const 260) (i32.const {len}))
            (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))"#,
        ns = ms * 1_000_000,
        len = text.len()
    ))
}

/// A module that exits with the number of environment variables it sees,
/// plus 100 if fd 3 is a preopened directory: a confined guest exits 0.
pub fn environment_probe_module() -> Vec<u8> {
    wat(r#"(module
        (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (local $code i32)
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (local.set $code (i32.load (i32.const 0)))
            (if (i32.eqz (call $prestat (i32.const 3) (i32.const 16)))
                (then (local.set $code (i32.add (local.get $code) (i32.const 100)))))
            (call $exit (local.get $code))))"#)
}

/// WAT for a function that prints the byte at memory[16] after adding 1 to
/// it; `init` is spliced in as extra module fields (an init export, say).
pub fn byte_printer(init: &str, entry: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "0")
        (func $bump_and_print
            (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
        {entry}
        {init})"#
    ))
}

/// A command that writes `answer` to `faasout` whatever its input: a
/// stream stage that answers the same bytes to every batch.
pub fn answer_module(answer: &[u8]) -> Vec<u8> {
    let escaped: String = answer.iter().map(|b| format!("\\{b:02x}")).collect();
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "{escaped}")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        len = answer.len()
    ))
}

/// A command whose pre-init runs `body` (WAT instructions, with `$fd_write`
/// and the imports below in scope).
pub fn preinit_module(body: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start"))
        (func (export "wizer-initialize") {body}))"#
    ))
}

/// What `sh -c command` writes to stdout: the output a pipeline's result
/// is compared with.
pub fn shell(command: &str) -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .expect("sh");
    String::from_utf8(output.stdout).expect("utf-8")
}
