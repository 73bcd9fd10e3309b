//! Writes each word of its input on its own line, lowercased.
//!
//! A faasrt function; the logic lives in `faasrt_examples::words`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::words::run(faasrt_guest::input(), faasrt_guest::output())?;
        Ok(())
    })
}
