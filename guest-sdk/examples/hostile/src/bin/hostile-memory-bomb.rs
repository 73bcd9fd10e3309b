//! Allocates and touches 1 MiB blocks until an allocation fails.
//!
//! Guest: wasm.
//!
//! On wasm each block grows the linear memory; once the host's memory limit
//! refuses a `memory.grow`, the allocator gets no memory and Rust's
//! allocation-failure handler aborts, which traps (`unreachable`) after
//! writing `memory allocation of 1048576 bytes failed` to the log. (A host
//! that traps on a refused grow ends it one step earlier.) Natively it does
//! the same to the process's memory.

use std::hint::black_box;

/// The size of one block.
const BLOCK: usize = 1 << 20;
/// Every this many bytes one byte is written, so that each page is really
/// backed by memory and not just reserved.
const PAGE: usize = 4096;

fn main() {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        // `vec!` rather than `try_reserve`: a failed allocation is not
        // handled here, it ends the guest (see above).
        let mut block = vec![0u8; BLOCK];
        for byte in block.iter_mut().step_by(PAGE) {
            *byte = 1;
        }
        blocks.push(black_box(block));
    }
}
