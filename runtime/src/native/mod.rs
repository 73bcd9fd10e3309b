//! Native functions: an x86_64 Linux executable run as a child process with
//! real OS pipes on fd 0 and fd 1, fd 2 to the log, an empty environment, a
//! process group of its own (killed whole at the end), rlimits and the
//! native-child seccomp filter of `faasrt-isolation`.
//!
//! The executable lives in a sealed memfd, never in a file a user could
//! name: it is executed through `/proc/self/fd/N`. In a pipeline, the OS
//! pipes are bridged to faasrt's in-process pipes with the same semantics:
//! the neighbour's exit is EOF on the child's stdin, a gone reader makes the
//! child's next write fail with `EPIPE` (or `SIGPIPE`).
//!
//! Here: the executable (`executable`), the sandbox the child enters
//! between fork and exec (`sandbox`), its stdio bridged to in-process pipes
//! (`stdio`), running and reaping it (`runner`), and the splice edges that
//! join two adjacent native stages with one OS pipe (`splice`). What must
//! not live here: the seccomp and Landlock mechanisms themselves (in
//! `faasrt-isolation`), and anything of wasm (`wasm/`).

mod child_usage;
mod executable;
mod runner;
mod sandbox;
pub(crate) mod splice;
mod stdio;

pub(crate) use executable::{NativeExecutable, validate_executable};
pub(crate) use runner::NativeRunner;
pub(crate) use stdio::OsStdio;
