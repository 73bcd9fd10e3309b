//! The role of each thread: a host thread (`host_threads.rs`), a thread
//! that runs guest code (with its seccomp role), or neither.
//!
//! `faasrt serve` puts the runtime filter on every thread after start-up.
//! Threads that run guests (the async threads: a guest runs on the thread
//! that took its request) add [`faasrt_isolation::GUEST_THREAD_DENIED`] on
//! top, each before it first runs one: no new executable memory, no exec,
//! no process creation. Compilation, pre-initialization, store writes,
//! native spawns and splice relays happen on the host threads
//! (`host_threads.rs`), which keep the runtime filter only and are never
//! created by a thread with the role. Library users (tests, benchmarks,
//! `faasrt run`) never enable the role.

use faasrt_isolation::{GuestThreadFilter, IsolationError, RuntimeSeccomp};
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static ROLE: OnceLock<GuestThreadFilter> = OnceLock::new();

/// Threads that installed the role.
static GUEST_THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread took its role already (or failed to).
    static ENTERED: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread is a host thread.
    static IS_HOST: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread, just started, as a host thread: it never takes
/// the guest-thread role, and its denied syscalls are reported as `host`.
pub(crate) fn become_host_thread() {
    IS_HOST.with(|host| host.set(true));
    faasrt_isolation::set_thread_role(faasrt_isolation::ThreadRole::Host);
}

/// Whether the calling thread is a host thread.
pub(crate) fn on_host_thread() -> bool {
    IS_HOST.with(Cell::get)
}

/// What `faasrt serve` installs once start-up is done: the runtime filter
/// on every thread of the process, then the guest-thread role for each
/// thread that runs guest code from now on. Benchmarks call it to measure
/// the server's own setting.
///
/// # Errors
/// A filter cannot be built or installed.
pub fn install_server_seccomp(mode: RuntimeSeccomp) -> Result<(), IsolationError> {
    faasrt_isolation::install_runtime_filter(mode)?;
    enable(mode)
}

/// [`install_server_seccomp`] with the runtime filter letting the
/// syscalls in `allowed` through: those a runtime's configuration needs
/// ([`crate::RuntimeConfig::seccomp_allowances`]).
///
/// # Errors
/// A filter cannot be built or installed.
pub fn install_server_seccomp_allowing(
    mode: RuntimeSeccomp,
    allowed: &[faasrt_isolation::Sysno],
) -> Result<(), IsolationError> {
    faasrt_isolation::install_runtime_filter_allowing(mode, allowed)?;
    enable(mode)
}

/// Makes every thread that runs guest code from now on take the role, with
/// the runtime filter's `mode`. Call it once the runtime filter is on.
///
/// # Errors
/// The role's filter cannot be built here.
fn enable(mode: RuntimeSeccomp) -> Result<(), IsolationError> {
    let role = GuestThreadFilter::new(mode)?;
    let _ = ROLE.set(role);
    Ok(())
}

/// Takes the guest-thread role on this thread, the first time it is about to
/// run guest code; does nothing when the role is not enabled.
pub(crate) fn enter() {
    let Some(role) = ROLE.get() else {
        return;
    };
    // Pre-initialization runs guest code on a host thread: the role would
    // make that thread, and every thread it creates, unable to compile.
    if on_host_thread() {
        return;
    }
    if ENTERED.with(|entered| entered.replace(true)) {
        return;
    }
    match role.install_on_this_thread() {
        Ok(()) => {
            GUEST_THREADS.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => {
            tracing::warn!(%error, "cannot install the guest-thread seccomp role on this thread");
        }
    }
}

/// Whether the calling thread took the role (or tried to).
pub(crate) fn entered() -> bool {
    ENTERED.with(Cell::get)
}

/// How many threads run guests under the role.
pub(crate) fn guest_threads() -> usize {
    GUEST_THREADS.load(Ordering::Relaxed)
}
