//! The logic of the example faasrt functions, one module per function.
//!
//! Each binary in `src/bin/` is a thin wrapper that hands the invocation's
//! arguments, `faasin` and `faasout` to its module's `run`, so the logic is
//! tested natively against in-memory buffers. The examples double as test
//! fixtures and benchmark subjects: `faasrt-example-artifacts` builds them
//! for `wasm32-wasip1`. All of them work on bytes and stream their input;
//! none needs it to be UTF-8.

pub mod cat;
pub mod counter;
pub mod grep;
pub mod head;
pub mod hello;
pub mod init_heavy;
pub mod synthetic;
pub mod upper;
pub mod wc;
pub mod word_count;
pub mod words;
pub mod yes;
