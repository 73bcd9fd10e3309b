//! Resource limits of native function processes, set between fork and exec.

/// The rlimits of one native function process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildLimits {
    /// Address space, bytes (`RLIMIT_AS`).
    pub address_space: u64,
    /// CPU time, seconds (`RLIMIT_CPU`): a backstop behind the wall-clock
    /// timeout, which kills the process group.
    pub cpu_seconds: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Largest file it may create, bytes (`RLIMIT_FSIZE`).
    pub file_size: u64,
    /// Processes of its user (`RLIMIT_NPROC`; not enforced for root, which
    /// is why faasrt runs native functions as an unprivileged user).
    pub processes: u64,
}

impl ChildLimits {
    /// Applies the limits to the calling process; core dumps are disabled.
    ///
    /// Only makes system calls (no allocation), so it may run between fork
    /// and exec.
    ///
    /// # Errors
    /// A `setrlimit` call failed.
    pub fn apply(&self) -> std::io::Result<()> {
        for (resource, value) in [
            (libc::RLIMIT_AS, self.address_space),
            (libc::RLIMIT_CPU, self.cpu_seconds),
            (libc::RLIMIT_NOFILE, self.open_files),
            (libc::RLIMIT_FSIZE, self.file_size),
            (libc::RLIMIT_NPROC, self.processes),
            (libc::RLIMIT_CORE, 0),
        ] {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: setrlimit(2) with a valid pointer to a local struct.
            if unsafe { libc::setrlimit(resource, &limit) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
