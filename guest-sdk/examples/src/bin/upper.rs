//! Copies its input to its output with ASCII letters uppercased.
//!
//! A faasrt function; the logic lives in `faasrt_examples::upper`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::upper::run(faasrt_guest::input(), faasrt_guest::output())?;
        Ok(())
    })
}
