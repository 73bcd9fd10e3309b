//! faasrt-runtime: the engine, store, registry and invoker of faasrt, with
//! the HTTP server and the `faasrt` command-line interface built on them.
//!
//! [`Runtime`] is the API: [`Runtime::deploy`], [`Runtime::invoke`],
//! [`Runtime::list`], [`Runtime::get`], [`Runtime::remove`]. The server
//! ([`server`]) and the CLI ([`cli`]) are thin layers over it, and tests and
//! benches call it directly. Below it sit `faasrt-host-api` (what a guest
//! sees), `faasrt-snapshots` (artifact keys) and `faasrt-isolation`.

mod artifact_cache;
mod artifacts;
pub mod cli;
mod config;
mod data_dir;
pub mod doctor;
mod engine;
mod engines;
mod error;
mod function;
mod host_threads;
mod invocation;
mod limits;
mod memory_layout;
mod metrics;
mod name;
mod native;
pub mod pipeline;
mod registry;
mod runtime;
pub mod server;
mod splice;
mod store;
mod thread_role;

pub use artifacts::ARTIFACTS_DIR;
pub use config::RuntimeConfig;
pub use data_dir::{DataDir, STORE_FILE, TOKEN_FILE};
pub use error::RuntimeError;
pub use function::{Code, DeployOptions, EntryKind, FunctionInfo, FunctionKind, WasmOptions};
pub use host_threads::HOST_THREAD_NAME;
pub use invocation::{
    EXIT_CODE_OUTPUT_TOO_LARGE, EXIT_CODE_TIMEOUT, EXIT_CODE_TRAP, Invocation, InvocationStatus,
    InvokeRequest, Outcome,
};
pub use limits::{FunctionLimits, RequestedLimits};
pub use memory_layout::BoundsChecks;
pub use name::{FunctionName, MAX_NAME_LEN};
pub use runtime::{ResourceUse, Runtime};
pub use thread_role::install_server_seccomp;
