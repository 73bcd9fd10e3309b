//! Counts how often each input line (a name) was seen, across invocations, in the function's key-value state.
//!
//! Guest: wasm.
//!
//! A faasrt function; the logic lives in `faasrt_examples::counter`. It
//! needs the wasm host's key-value state, so it has no native twin.

fn main() {
    faasrt_guest::run(|| {
        faasrt_examples::counter::run(
            &faasrt_guest::args(),
            faasrt_guest::input(),
            faasrt_guest::output(),
            &mut faasrt_examples::counter::FunctionState,
        )
    })
}
