//! Writes the first lines of its input: `head [-n N]` (10 by default).
//!
//! A faasrt function; the logic lives in `faasrt_examples::head`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::head::run(
            &faasrt_guest::args(),
            faasrt_guest::input(),
            faasrt_guest::output(),
        )
    })
}
