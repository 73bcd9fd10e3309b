//! Writes the lines that contain a fixed string; status 1 if none does.
//!
//! A faasrt function; the logic lives in `faasrt_examples::grep`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::grep::run(
            &faasrt_guest::args(),
            faasrt_guest::input(),
            faasrt_guest::output(),
        )
    })
}
