//! Looks up decimal keys in a 1M-entry table built once, at pre-initialization.
//!
//! A faasrt function; the logic lives in `faasrt_examples::init_heavy`.

fn warm() {
    faasrt_examples::init_heavy::table();
}

faasrt_guest::init!(warm);

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::init_heavy::run(faasrt_guest::input(), faasrt_guest::output())?;
        Ok(())
    })
}
