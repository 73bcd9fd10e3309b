//! Copies its input to its output unchanged.
//!
//! A faasrt function; the logic lives in `faasrt_examples::cat`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::cat::run(faasrt_guest::input(), faasrt_guest::output())?;
        Ok(())
    })
}
