//! Helpers for tests that must run code in a process of its own (a seccomp
//! filter or Landlock ruleset cannot be removed once installed, and a
//! protection-key fault kills the process).

/// Forks; the child runs `body` and exits with its result; returns the raw
/// wait status (use `libc::WIFEXITED`, `WEXITSTATUS`, `WTERMSIG`).
///
/// `body` must only make system calls: the child is a copy of a process
/// that had other threads, so locks (the allocator's among them) may be
/// held by threads that do not exist in it.
pub(crate) fn in_child(body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork(2); the child runs `body`, which by contract only makes
    // system calls, then `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = body();
        // SAFETY: ends the forked child without running the parent's atexit
        // handlers or destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    status
}
