//! Recurses without bound until the stack overflows.
//!
//! Guest: wasm.
//!
//! Each frame keeps a 128-byte array on the stack and uses the callee's
//! result, through `black_box`, so the calls can become neither a loop nor a
//! tail call. On wasm it traps either when the shadow stack in linear memory
//! runs past address 0 (out-of-bounds memory access) or when the engine's
//! own call stack is exhausted, whichever comes first.

use std::hint::black_box;

/// Goes one level deeper, for as long as `black_box(true)` says so: always,
/// but the compiler cannot know that.
fn descend(depth: u64) -> u64 {
    let frame = black_box([depth; 16]);
    if black_box(true) {
        black_box(descend(depth + 1)).wrapping_add(frame[15])
    } else {
        frame[0]
    }
}

fn main() {
    let deepest = descend(0);
    // Never reached.
    println!("{deepest}");
}
