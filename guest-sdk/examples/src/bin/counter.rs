//! Counts how often each input line (a name) was seen, across invocations, in the function's key-value state.
//!
//! A faasrt function; the logic lives in `faasrt_examples::counter`. Its
//! native twin, `counter-native`, keeps its counts through the same calls
//! over its key-value channel.

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
