//! What the kernel accounted to a native function's process: its CPU time
//! and peak resident set, read once it has exited and before it is reaped
//! (`waitid` with `WNOWAIT` on a pidfd, which reports the zombie's
//! `rusage`: its own and that of the children it reaped).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// What one process used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChildUsage {
    /// User plus system time.
    pub cpu: Duration,
    /// Peak resident set, in bytes.
    pub peak_rss_bytes: u64,
}

/// A watch on one child process's exit.
pub(crate) struct ExitWatch {
    pidfd: AsyncFd<OwnedFd>,
}

impl ExitWatch {
    /// Watches `pid`, a child of this process not yet reaped; `None` when
    /// the kernel offers no pidfd (the run is then not measured).
    pub(crate) fn new(pid: u32) -> Option<Self> {
        let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::NONBLOCK).ok()?;
        // SAFETY: an `OwnedFd` is a valid open descriptor that stays open,
        // and always the same one, until the `AsyncFd` that owns it is
        // dropped.
        let pidfd = unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }.ok()?;
        Some(ExitWatch { pidfd })
    }

    /// Waits until the process has exited, and reads what it used; it is
    /// left to be reaped. `None` when the kernel does not say.
    pub(crate) async fn exited(&self) -> Option<ChildUsage> {
        // A pidfd turns readable when its process exits.
        let mut ready = self.pidfd.readable().await.ok()?;
        ready.retain_ready();
        zombie_usage(self.pidfd.get_ref())
    }
}

/// The `rusage` of the exited, unreaped process behind `pidfd`.
fn zombie_usage(pidfd: &OwnedFd) -> Option<ChildUsage> {
    // SAFETY: zeroed siginfo_t and rusage are valid values of these plain C
    // structs, which waitid fills.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the raw waitid takes these five arguments; both pointers are
    // valid for writes for the duration of the call. WNOWAIT leaves the
    // process to be reaped by its owner (tokio's `Child::wait`).
    let done = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            libc::P_PIDFD,
            pidfd.as_fd().as_raw_fd(),
            &mut info as *mut libc::siginfo_t,
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            &mut usage as *mut libc::rusage,
        )
    };
    // With WNOHANG, a process still running leaves si_pid at 0.
    // SAFETY: si_pid is valid to read in a siginfo_t waitid filled.
    if done != 0 || unsafe { info.si_pid() } == 0 {
        return None;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Some(ChildUsage {
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        // Linux reports kilobytes.
        peak_rss_bytes: (usage.ru_maxrss as u64) * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_child_that_spins_reports_its_cpu_time_and_memory() {
        // A shell loop that keeps the CPU busy for a moment.
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .spawn()
            .unwrap();
        let watch = ExitWatch::new(child.id().unwrap()).expect("pidfd");
        let usage = watch.exited().await.expect("usage");
        assert!(usage.cpu > Duration::from_millis(1), "{usage:?}");
        assert!(usage.peak_rss_bytes > 100 << 10, "{usage:?}");
        // Still there to be reaped, with its status.
        assert!(child.wait().await.unwrap().success());
    }
}
