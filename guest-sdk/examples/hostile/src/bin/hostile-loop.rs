//! Spins forever in pure compute: no host calls, no output, no way out.
//!
//! Guest: wasm.
//!
//! Only the host's time limit (epoch interruption) can end it. The counter
//! goes through `black_box`, so the optimizer cannot prove the loop has no
//! effect and drop it.

use std::hint::black_box;

fn main() {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}
