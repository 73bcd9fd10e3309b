//! Writes to faasout forever, 64 KiB at a time, ignoring every error.
//!
//! Guest: wasm.
//!
//! A polite function stops at a broken pipe; this one keeps writing whatever
//! a write returns, so only the host can end it: by its output limit (if
//! that traps or kills the guest) or else by its time limit.

use std::io::Write;

/// One write's worth of output.
const CHUNK: usize = 64 * 1024;

fn main() {
    let chunk = [b'x'; CHUNK];
    let mut output = faasrt_guest::output();
    loop {
        // Deliberately ignored: the point is not to stop.
        let _ = output.write_all(&chunk);
    }
}
