//! Greets its first argument: `Hello, <name>!` (`Hello, world!` without one).
//!
//! A faasrt function; the logic lives in `faasrt_examples::hello`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::hello::run(&faasrt_guest::args(), faasrt_guest::output())?;
        Ok(())
    })
}
