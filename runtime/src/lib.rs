//! faasrt-runtime: the library of faasrt. It deploys, stores, registers and
//! invokes functions (WebAssembly modules and native executables) and runs
//! pipelines of them.
//!
//! [`Runtime`] is the API: [`Runtime::deploy`], [`Runtime::invoke`],
//! [`Runtime::list`], [`Runtime::get`], [`Runtime::remove`]. The HTTP API
//! (`faasrt-server`) and the `faasrt` command line (package `faasrt`) are
//! thin layers over it in crates of their own, and tests and benches call
//! it directly; nothing here knows HTTP or the command line. Below it sit `faasrt-host-api` (what a guest
//! sees), `faasrt-snapshots` (artifact keys) and `faasrt-isolation`.

mod admission;
mod bounds_checks;
mod config;
mod deploy;
pub mod doctor;
mod error;
mod function;
mod function_logs;
mod heap;
mod host_threads;
mod hw_counters;
mod invocation;
mod journal;
mod kv;
mod limits;
mod live_feed;
mod metrics;
mod name;
mod native;
mod observe;
pub mod pipeline;
mod platform;
mod poll_time;
mod registry;
mod resident;
mod resource_use;
mod runtime;
mod store;
mod thread_role;
mod trace_context;
mod wasm;

pub use bounds_checks::BoundsChecks;
pub use config::RuntimeConfig;
pub use error::{RuntimeError, error_chain, quiet_library_backtraces};
pub use function::{
    Code, DeployOptions, EntryKind, FunctionInfo, FunctionKind, FunctionStatus, WasmOptions,
};
pub use function_logs::{FUNCTION_LOG_BYTES, LogEntry, LogFeed};
pub use host_threads::HOST_THREAD_NAME;
pub use hw_counters::{HwCountersError, HwCounts};
pub use invocation::{
    EXIT_CODE_OUTPUT_TOO_LARGE, EXIT_CODE_TIMEOUT, EXIT_CODE_TRAP, Invocation, InvocationStatus,
    InvocationUsage, InvokeRequest, KvUse, Outcome,
};
pub use journal::{InvocationRecord, JOURNAL_CAPACITY, JournalFeed, StageRecord};
pub use kv::{KvEntry, KvPage};
pub use limits::{DEFAULT_KV_MAX_BYTES, DEFAULT_KV_MAX_KEYS, FunctionLimits, RequestedLimits};
pub use live_feed::Follower;
pub use name::{FunctionName, MAX_NAME_LEN};
pub use platform::{PLATFORM_CAPACITY, PlatformSample};
pub use resource_use::ResourceUse;
pub use runtime::Runtime;
pub use store::data_dir::{DataDir, STORE_FILE, TOKEN_FILE};
pub use thread_role::{install_server_seccomp, install_server_seccomp_allowing};
pub use trace_context::TraceContext;
pub use wasm::artifacts::ARTIFACTS_DIR;
