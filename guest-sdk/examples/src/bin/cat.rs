//! Copies its input to its output unchanged (`-b BYTES` sets the chunk size).
//!
//! A faasrt function; the logic lives in `faasrt_examples::cat`.

fn main() {
    faasrt_guest::run(|| {
        let buffer_size = faasrt_examples::cat::buffer_size(&faasrt_guest::args())?;
        faasrt_examples::cat::run(faasrt_guest::input(), faasrt_guest::output(), buffer_size)?;
        Ok(())
    })
}
