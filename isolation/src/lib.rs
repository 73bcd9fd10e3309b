//! faasrt-isolation: the sandbox of native functions (a seccomp filter,
//! Landlock and resource limits applied between fork and exec), the seccomp
//! filter of the runtime's own threads, memory protection keys for the
//! runtime's secrets, and the capability probe behind `faasrt doctor`.
//!
//! It sits at the bottom of the workspace: it knows nothing of wasm, HTTP or
//! the store. Wasm functions are confined by the wasm sandbox itself (bounds
//! checks and guard regions).

mod cgroup;
mod denials;
mod landlock;
mod limits;
mod pkeys;
mod probe;
mod seccomp;
mod seccomp_policy;
#[cfg(test)]
mod test_support;

pub use cgroup::{CgroupError, CgroupLimits, ChildCgroup, NativeCgroups};
pub use denials::{
    Denial, ThreadRole, denials, denied_syscalls, set_thread_role, syscall_name, thread_role,
};
pub use landlock::{FsSandbox, NATIVE_READABLE, landlock_abi};
pub use limits::ChildLimits;
pub use pkeys::{
    PkeyError, SecretRegion, allow_all_keys_but_secrets, reassert_secret_denials,
    secrets_denied_here, secrets_protected,
};
pub use probe::{Probed, capability_expected, probe};
pub use seccomp::{
    GUEST_THREAD_FILTERS, GuestThreadFilter, IsolationError, RuntimeSeccomp, SeccompProgram,
    install_runtime_filter, install_runtime_filter_allowing, native_child_filter,
};
pub use seccomp_policy::{
    ArgCondition, EXEC_FD, GUEST_THREAD_DENIED, NATIVE_CHILD_DENIED, RUNTIME_DENIED, SyscallRule,
    Sysno,
};
