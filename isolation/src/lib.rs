//! faasrt-isolation: the sandbox of native functions (a seccomp filter and
//! resource limits applied between fork and exec), and in time the seccomp
//! filters of the runtime's own threads, memory protection keys and the
//! capability probe behind `faasrt doctor`.
//!
//! It sits at the bottom of the workspace: it knows nothing of wasm, HTTP or
//! the store. Wasm functions are confined by the wasm sandbox itself (bounds
//! checks and guard regions).

mod landlock;
mod limits;
mod pkeys;
mod probe;
mod seccomp;
#[cfg(test)]
mod test_support;

pub use landlock::{FsSandbox, NATIVE_READABLE, landlock_abi};
pub use limits::ChildLimits;
pub use pkeys::{PkeyError, SecretRegion};
pub use probe::{Probed, probe};
pub use seccomp::{
    DeniedSyscall, EXEC_FD, IsolationError, NATIVE_CHILD_DENIED, RUNTIME_DENIED, RuntimeSeccomp,
    SeccompProgram, denied_syscalls, install_runtime_filter, native_child_filter,
};
