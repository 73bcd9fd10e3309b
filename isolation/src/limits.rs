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
        use rustix::process::{Resource, Rlimit};
        for (resource, value) in [
            (Resource::As, self.address_space),
            (Resource::Cpu, self.cpu_seconds),
            (Resource::Nofile, self.open_files),
            (Resource::Fsize, self.file_size),
            (Resource::Nproc, self.processes),
            (Resource::Core, 0),
        ] {
            let limit = Rlimit {
                current: Some(value),
                maximum: Some(value),
            };
            rustix::process::setrlimit(resource, limit)?;
        }
        Ok(())
    }
}
