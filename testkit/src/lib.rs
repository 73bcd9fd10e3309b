//! faasrt-testkit: what the test suites of faasrt's crates share.
//!
//! - [`fixtures`]: the built example functions and small WebAssembly-text
//!   modules that each do one thing;
//! - `http` (feature `http`): a raw HTTP client of one server, for the
//!   server's and the CLI's tests;
//! - [`zipf`]: a seeded Zipf-like key generator (tests and benchmarks
//!   draw the same workload from a seed);
//! - [`require!`]: a test's precondition on the machine (Landlock, Go,
//!   native examples, protection keys), which skips the test where the
//!   machine lacks it, and fails it where `FAASRT_EXPECT_<WHAT>=1` says the
//!   machine has it.
//!
//! What must not live here: a server. Each crate's suite starts the thing
//! it tests itself (the library's tests a `Runtime`, the server's an
//! in-process server, the CLI's the `faasrt` binary).

pub mod fixtures;
#[cfg(feature = "http")]
pub mod http;
mod skip;
pub mod zipf;

pub use fixtures::*;
pub use skip::expected;
