//! The errors of the runtime library, one variant per thing a user can get
//! wrong or the host can fail at. The HTTP layer maps each to one status code
//! and one stable `code` string (`server/api_error.rs`).

use std::path::PathBuf;

/// An error from a [`crate::Runtime`] operation.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The function name does not match `[a-z0-9][a-z0-9_-]{0,62}`.
    #[error("invalid function name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No function of this name is deployed.
    #[error("function {name:?} is not deployed")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// The bytes are not a valid WebAssembly module faasrt can run.
    #[error("invalid module: {reason}")]
    InvalidModule {
        /// What the validator or compiler said.
        reason: String,
    },
    /// The bytes deployed as a native function are not an executable for
    /// this machine.
    #[error("invalid native executable: {reason}")]
    InvalidExecutable {
        /// What is wrong with it.
        reason: String,
    },
    /// The module imports functions the host does not provide.
    #[error("module imports unknown functions: {}", .names.join(", "))]
    UnknownImports {
        /// Each unknown import as `module::name`.
        names: Vec<String>,
    },
    /// The module has neither `_start: () -> ()` (a command) nor
    /// `handle: () -> ()` or `() -> i32` (a reactor).
    #[error(
        "module has no entry point: it must export `_start` of type () -> () (a command) \
         or `handle` of type () -> i32 (a reactor)"
    )]
    MissingEntryPoint,
    /// No pipeline of this name is stored.
    #[error("pipeline {name:?} does not exist")]
    PipelineNotFound {
        /// The name asked for.
        name: String,
    },
    /// A pipeline spec is malformed or names functions that do not exist.
    #[error("invalid pipeline: {reason}")]
    InvalidPipeline {
        /// What is wrong, naming the stage.
        reason: String,
    },
    /// Pre-initialization (`wizer-initialize`) failed at deploy.
    #[error("pre-initialization failed: {reason}")]
    PreinitFailed {
        /// Why, in the user's words, with the log tail.
        reason: String,
    },
    /// A request body (module, input) is larger than the configured limit.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large ("module", "input").
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// A limit asked for at deploy is outside what the server allows.
    #[error("invalid limit: {0}")]
    InvalidLimit(String),
    /// Every instance slot is in use; retry later.
    #[error("the server is running its maximum of {limit} concurrent invocations; retry later")]
    Busy {
        /// The number of concurrent instances allowed.
        limit: u32,
    },
    /// The function is running its own maximum of concurrent invocations.
    #[error(
        "function {name:?} is running its maximum of {limit} concurrent invocations; retry later"
    )]
    FunctionBusy {
        /// The function.
        name: String,
        /// Its `max_concurrency`.
        limit: u32,
    },
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The embedded store failed.
    #[error("store: {0}")]
    Store(#[from] redb::Error),
    /// The store holds something this version cannot read.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// The wasm engine (or its linker) could not be set up.
    #[error("cannot set up the wasm engine: {}", error_chain(.0.as_ref()))]
    EngineSetup(#[source] BoxError),
    /// A precompiled artifact could not be made or used (not the module's
    /// fault: the module itself compiled).
    #[error("precompiled artifact: cannot {what}: {}", error_chain(.source.as_ref()))]
    Artifact {
        /// What was being done: `serialize`, `deserialize`, `read`.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// A module's copy-on-write memory image could not be created.
    #[error("cannot create the module's memory image: {}", error_chain(.0.as_ref()))]
    MemoryImage(#[source] BoxError),
    /// A native executable could not be sealed into its memfd.
    #[error("cannot prepare the native executable: {what}: {source}")]
    NativeExecutable {
        /// The step that failed: `memfd_create`, `write`, `seal`.
        what: &'static str,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// A sandbox mechanism for native functions could not be set up.
    #[error(transparent)]
    Isolation(#[from] faasrt_isolation::IsolationError),
    /// The runtime's configuration cannot work on this machine.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The host threads (compilation, store writes, native spawns) could
    /// not be started.
    #[error("cannot start the host threads: {0}")]
    HostThreads(#[source] std::io::Error),
    /// Work on a host thread panicked or was cancelled.
    #[error("a host task failed: {0}")]
    HostTaskFailed(#[source] tokio::task::JoinError),
    /// A runtime was opened on a thread that runs guest code: its host
    /// threads would inherit that thread's seccomp role.
    #[error("a runtime cannot be opened on a thread that runs guest code")]
    OnGuestThread,
    /// The request pinned a version of the function, and the function
    /// deployed under that name now has another digest.
    #[error(
        "function {name:?} was redeployed: it is now {deployed}, and the caller pinned {expected}"
    )]
    DigestChanged {
        /// The function.
        name: String,
        /// The digest the caller pinned.
        expected: String,
        /// The digest deployed now.
        deployed: String,
    },
    /// The writes of a successful invocation (or of a `PUT` on the API)
    /// would take its function's key-value state past its quota; nothing
    /// of them was written. Within one invocation the quota is checked at
    /// each write; this is what happens when concurrent invocations each
    /// fit alone and not together.
    #[error(
        "the key-value writes of function {function:?} would exceed its quota of {max_keys} keys and {max_bytes} bytes (to {keys} keys, {bytes} bytes); nothing was written"
    )]
    KvQuotaExceeded {
        /// The function.
        function: String,
        /// Its key quota.
        max_keys: u64,
        /// Its byte quota.
        max_bytes: u64,
        /// The keys the writes would have left.
        keys: u64,
        /// The bytes the writes would have left.
        bytes: u64,
    },
    /// A key or value given to the key-value API is out of bounds.
    #[error("{0}")]
    InvalidKv(#[from] faasrt_host_api::KvWriteError),
    /// The function is one the server is still preparing (deploying the
    /// examples at start-up): it will be there shortly.
    #[error("function {name} is still being prepared (the server is starting); retry shortly")]
    Preparing {
        /// The function's name.
        name: String,
    },
}

/// An underlying error kept whole (wasmtime's errors convert into one).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `error` and each of its causes, joined by `: `, for messages that must
/// say what failed and why.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// Turns off the capture of native backtraces in library errors unless the
/// operator asked for them with `RUST_LIB_BACKTRACE`.
///
/// With `RUST_BACKTRACE=1` in the environment, every error value captures a
/// native backtrace, and a guest's `proc_exit` is carried as an error: that
/// made every exiting invocation walk the host stack. Panics keep their
/// backtraces (`RUST_BACKTRACE` still governs those).
///
/// Call it first thing in `main`, before any thread starts.
pub fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called at the top of `main` before any other thread exists,
        // so nothing can read the environment concurrently.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}

/// Implements `From` each of redb's error types for an error enum, through
/// its variant that holds a `redb::Error`, so that `?` works on every redb
/// call: `redb_errors_into!(RuntimeError::Store)`. The crates with a redb
/// store of their own (`faasrt-streams`) use it too; the caller must
/// depend on `redb`.
#[macro_export]
macro_rules! redb_errors_into {
    ($error:ident :: $variant:ident) => {
        $crate::redb_errors_into!(
            @each $error $variant
            redb::DatabaseError,
            redb::TransactionError,
            redb::TableError,
            redb::StorageError,
            redb::CommitError
        );
    };
    (@each $error:ident $variant:ident $($ty:ty),*) => {$(
        impl From<$ty> for $error {
            fn from(error: $ty) -> Self {
                $error::$variant(error.into())
            }
        }
    )*};
}

crate::redb_errors_into!(RuntimeError::Store);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_error_keeps_its_cause_and_says_it() {
        let io = std::io::Error::other("disk on fire");
        let error = RuntimeError::Artifact {
            what: "read",
            source: Box::new(io),
        };
        assert_eq!(
            error.to_string(),
            "precompiled artifact: cannot read: disk on fire"
        );
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "disk on fire");
    }

    #[test]
    fn a_wasmtime_error_keeps_its_whole_chain_in_the_message() {
        let inner = wasmtime::Error::msg("no memory").context("creating the pool");
        let error = RuntimeError::EngineSetup(inner.into());
        let message = error.to_string();
        assert!(message.contains("creating the pool"), "{message}");
        assert!(message.contains("no memory"), "{message}");
    }
}
