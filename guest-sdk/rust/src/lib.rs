//! faasrt-guest: the Rust SDK for faasrt functions.
//!
//! A faasrt function is a WASI preview-1 command (`wasm32-wasip1`) or a native
//! executable; this crate wraps the guest ABI so that a function reads like a
//! small UNIX filter. It has no dependencies and knows nothing of the host
//! crates (`runtime`, `host-api`); the same program also builds and runs
//! natively, which is how the examples in `guest-sdk/examples` are tested.
//!
//! The ABI, per invocation:
//!
//! - fd 0, `faasin`: the input, read until EOF — [`input()`], [`read_input()`];
//! - fd 1, `faasout`: the output — [`output()`], buffered and flushed for you;
//! - fd 2: the log — [`log()`](fn@log) and [`log!`];
//! - `args[0]` is the function name ([`function_name()`]), `args[1..]` the
//!   invocation's arguments ([`args()`]);
//! - the exit status is the function's status, 0 for success — [`run()`],
//!   [`exit()`], [`Error`];
//! - optional pre-initialization: [`init!`] names a hook that runs once at
//!   deploy (see the [`init`](mod@init) module), and randomness that a
//!   snapshot cannot freeze: [`random_u64()`], [`Rng`];
//! - state that survives between invocations, per function: [`kv`];
//! - for a stage of a stream: records one at a time, emitted records and
//!   state per key, in the [`records`] module.
//!
//! # Example
//!
//! A function that prefixes each line of its input with the first argument:
//!
//! ```no_run
//! use std::io::{BufRead, Write};
//!
//! use faasrt_guest::Error;
//!
//! fn main() {
//!     faasrt_guest::run(|| {
//!         let args = faasrt_guest::args();
//!         let prefix = args.first().ok_or_else(|| Error::usage("usage: prefix TEXT"))?;
//!         let mut input = faasrt_guest::input();
//!         let mut output = faasrt_guest::output();
//!         let mut line = Vec::new();
//!         while input.read_until(b'\n', &mut line)? != 0 {
//!             output.write_all(prefix.as_bytes())?;
//!             output.write_all(&line)?;
//!             line.clear();
//!         }
//!         faasrt_guest::log!("done");
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip1`. A write to a
//! `faasout` whose consumer has gone fails with a broken pipe; `?` passes it
//! to [`run()`], which ends the function quietly with
//! [`BROKEN_PIPE_STATUS`], so `yes | head` ends cleanly.

mod error;
pub mod init;
pub mod kv;
mod process;
mod random;
pub mod records;
mod stdio;

pub use error::{BROKEN_PIPE_STATUS, Error};
pub use process::{args, exit, function_name, run};
pub use random::{Rng, random_u64};
pub use stdio::{Input, Output, input, log, output, read_input};
