//! A keyed stream stage: counts records per key, emits `KEY COUNT`.
//!
//! A faasrt function; the logic lives in `faasrt_examples::word_count`.

fn main() {
    faasrt_guest::run(|| faasrt_guest::records::run(faasrt_examples::word_count::handle))
}
