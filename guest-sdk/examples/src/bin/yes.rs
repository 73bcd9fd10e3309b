//! Writes its first argument (default `y`) and a newline forever, like `yes`.
//!
//! A faasrt function; the logic lives in `faasrt_examples::yes`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::yes::run(&faasrt_guest::args(), faasrt_guest::output())?;
        Ok(())
    })
}
