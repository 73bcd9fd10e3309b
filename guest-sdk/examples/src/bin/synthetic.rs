//! Stands in for a trace function: spins `work` units, touches `memory` bytes, writes `output` bytes.
//!
//! A faasrt function; the logic lives in `faasrt_examples::synthetic`.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::synthetic::run(faasrt_guest::input(), faasrt_guest::output())?;
        Ok(())
    })
}
