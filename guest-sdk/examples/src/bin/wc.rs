//! Counts lines, words and bytes: `wc [-l] [-w] [-c]`.
//!
//! A faasrt function; the logic lives in `faasrt_examples::wc`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::wc::run(
            &faasrt_guest::args(),
            faasrt_guest::input(),
            faasrt_guest::output(),
        )
    })
}
