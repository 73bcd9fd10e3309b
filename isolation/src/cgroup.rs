//! cgroup v2 limits for native function processes, where this process's
//! cgroup is delegated to it (a systemd unit with `Delegate=yes`, a
//! container's own namespace, or root on a host it owns).
//!
//! Layout, under this process's own cgroup `G`:
//!
//! ```text
//! G/                      controllers enabled for the children below
//! G/faasrt-server/        faasrt itself (a cgroup with children may hold no
//!                         process, except the root one)
//! G/faasrt-native/        one child per running native function:
//! G/faasrt-native/n-42/   memory.max, memory.swap.max = 0, pids.max, cpu.max
//! ```
//!
//! The child joins its cgroup between fork and exec by writing `0` to a
//! `cgroup.procs` descriptor the parent opened; the kernel checks the
//! opener's credentials (Linux 5.16+), so this works after the child has
//! dropped to an unprivileged user. When the invocation ends, `cgroup.kill`
//! ends every process in it, including any that left the process group
//! (`setsid`), and the cgroup is removed.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where the unified hierarchy is mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The controllers faasrt limits native functions with.
const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];

/// Why cgroup limits cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// No cgroup v2 hierarchy, or this process is not in one.
    #[error("no cgroup v2 hierarchy: {0}")]
    Unavailable(String),
    /// A cgroup file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the kernel said.
        error: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |error| CgroupError::Io {
        path: path.to_owned(),
        error,
    }
}

fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(io_error(path))
}

/// Limits of one native function's cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupLimits {
    /// `memory.max`, bytes: past it the kernel reclaims, then kills (OOM)
    /// inside the cgroup only. Swap is off (`memory.swap.max` = 0).
    pub memory_max: u64,
    /// `pids.max`: processes and threads together.
    pub pids_max: u64,
    /// `cpu.max` as a share of one CPU, in percent (100 = one full CPU).
    pub cpu_percent: u32,
}

/// The `faasrt-native` parent cgroup, set up once per process.
#[derive(Debug)]
pub struct NativeCgroups {
    parent: PathBuf,
    controllers: Vec<&'static str>,
    next: AtomicU64,
}

impl NativeCgroups {
    /// Finds this process's cgroup, moves the process into
    /// `faasrt-server` below it (unless it is the root cgroup), and
    /// creates `faasrt-native` with the memory, pids and cpu controllers
    /// that the hierarchy offers.
    ///
    /// # Errors
    /// [`CgroupError::Unavailable`] without a v2 hierarchy;
    /// [`CgroupError::Io`] when the cgroup is not delegated to this process.
    pub fn setup() -> Result<Self, CgroupError> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
            })
            .ok_or_else(|| CgroupError::Unavailable("this process is in no v2 cgroup".into()))?;
        let group = Path::new(CGROUP_ROOT).join(own.trim().trim_start_matches('/'));
        let offered = std::fs::read_to_string(group.join("cgroup.controllers"))
            .map_err(|e| CgroupError::Unavailable(format!("{}: {e}", group.display())))?;
        let controllers: Vec<&'static str> = CONTROLLERS
            .into_iter()
            .filter(|c| offered.split_whitespace().any(|o| o == *c))
            .collect();
        if group != Path::new(CGROUP_ROOT) {
            // Only the root cgroup may hold processes and hand controllers
            // to children at once.
            let server = group.join("faasrt-server");
            ensure_dir(&server)?;
            write_file(
                &server.join("cgroup.procs"),
                &std::process::id().to_string(),
            )?;
        }
        enable(&group, &controllers)?;
        let parent = group.join("faasrt-native");
        ensure_dir(&parent)?;
        enable(&parent, &controllers)?;
        Ok(NativeCgroups {
            parent,
            controllers,
            next: AtomicU64::new(0),
        })
    }

    /// The `faasrt-native` directory.
    pub fn parent(&self) -> &Path {
        &self.parent
    }

    /// How many child cgroups were asked for so far.
    pub fn created(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// The controllers in use (of memory, pids, cpu).
    pub fn controllers(&self) -> &[&'static str] {
        &self.controllers
    }

    /// Creates a fresh cgroup with `limits` for one native process.
    ///
    /// # Errors
    /// [`CgroupError::Io`] when the directory or a limit cannot be written.
    pub fn create(&self, limits: &CgroupLimits) -> Result<ChildCgroup, CgroupError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.parent.join(format!("n-{}-{id}", std::process::id()));
        std::fs::create_dir(&dir).map_err(io_error(&dir))?;
        // Removed again (by its Drop) if a limit cannot be set.
        let mut child = ChildCgroup {
            procs: None,
            dir: dir.clone(),
        };
        let has = |c: &str| self.controllers.contains(&c);
        if has("memory") {
            write_file(&dir.join("memory.max"), &limits.memory_max.to_string())?;
            // Absent where the kernel has no swap accounting.
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        }
        if has("pids") {
            write_file(&dir.join("pids.max"), &limits.pids_max.to_string())?;
        }
        if has("cpu") {
            const PERIOD_US: u64 = 100_000;
            let quota = PERIOD_US * u64::from(limits.cpu_percent.max(1)) / 100;
            write_file(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
        }
        let procs_path = dir.join("cgroup.procs");
        let procs = File::options()
            .write(true)
            .open(&procs_path)
            .map_err(io_error(&procs_path))?;
        child.procs = Some(procs);
        Ok(child)
    }
}

fn ensure_dir(dir: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_error(dir)(e)),
    }
}

fn enable(group: &Path, controllers: &[&str]) -> Result<(), CgroupError> {
    let path = group.join("cgroup.subtree_control");
    for controller in controllers {
        let mut file = File::options()
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.write_all(format!("+{controller}").as_bytes())
            .map_err(io_error(&path))?;
    }
    Ok(())
}

/// One native process's cgroup: joined between fork and exec, killed and
/// removed when dropped.
#[derive(Debug)]
pub struct ChildCgroup {
    dir: PathBuf,
    procs: Option<File>,
}

impl ChildCgroup {
    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `cgroup.procs` descriptor to hand to [`ChildCgroup::join`] in
    /// the child.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Moves the calling process into the cgroup whose `cgroup.procs` is
    /// open as `procs_fd`. Only makes one `write` (no allocation), so it
    /// may run between fork and exec.
    ///
    /// # Errors
    /// The write failed (the kernel refused the move).
    pub fn join(procs_fd: RawFd) -> std::io::Result<()> {
        // SAFETY: write(2) of a 1-byte static buffer to a descriptor.
        if unsafe { libc::write(procs_fd, c"0".as_ptr().cast(), 1) } != 1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Kills every process in the cgroup (`cgroup.kill`, Linux 5.14+).
    pub fn kill_all(&self) {
        let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
    }

    /// Peak memory use of the cgroup so far, bytes (`memory.peak`, Linux
    /// 5.19+), where the memory controller is on.
    pub fn memory_peak(&self) -> Option<u64> {
        std::fs::read_to_string(self.dir.join("memory.peak"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        self.procs = None;
        self.kill_all();
        if std::fs::remove_dir(&self.dir).is_ok() {
            return;
        }
        // Killed processes take a moment to leave; retry off the caller's
        // thread rather than block it.
        let dir = std::mem::take(&mut self.dir);
        std::thread::spawn(move || {
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(10));
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
                if std::fs::remove_dir(&dir).is_ok() {
                    return;
                }
            }
            eprintln!("faasrt: cannot remove cgroup {}", dir.display());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set to 1 by the VM harness, which mounts a cgroup v2 hierarchy.
    fn cgroups_expected() -> bool {
        crate::capability_expected("FAASRT_EXPECT_CGROUPS")
    }

    fn cgroups() -> Option<NativeCgroups> {
        match NativeCgroups::setup() {
            Ok(cgroups) => Some(cgroups),
            Err(error) => {
                assert!(!cgroups_expected(), "cgroups were expected here: {error}");
                eprintln!("skipped: {error}");
                None
            }
        }
    }

    /// Forks a child that joins a fresh cgroup with `limits` and runs
    /// `body` there (exit code 100: it could not join); returns the cgroup
    /// and the child's wait status.
    fn in_child_cgroup(
        cgroups: &NativeCgroups,
        limits: CgroupLimits,
        body: impl FnOnce() -> i32,
    ) -> (ChildCgroup, i32) {
        let child = cgroups.create(&limits).expect("child cgroup");
        let fd = child.procs_fd();
        let status = crate::test_support::in_child(|| {
            if ChildCgroup::join(fd).is_err() {
                return 100;
            }
            body()
        });
        (child, status)
    }

    #[test]
    fn cgroup_pids_max_bounds_a_child_and_its_descendants() {
        let Some(cgroups) = cgroups() else { return };
        assert!(cgroups.controllers().contains(&"pids"), "{cgroups:?}");
        let limits = CgroupLimits {
            memory_max: 64 << 20,
            pids_max: 4,
            cpu_percent: 100,
        };
        // The child forks until refused; its exit code is how many forks
        // succeeded (they pause, so all count at once).
        let (child, status) = in_child_cgroup(&cgroups, limits, || {
            let mut forked = 0;
            for _ in 0..10 {
                // SAFETY: fork(2); the grandchild only pauses, and is
                // killed with the cgroup.
                match unsafe { libc::fork() } {
                    0 => loop {
                        // SAFETY: pause(2) takes no arguments.
                        unsafe { libc::pause() };
                    },
                    pid if pid > 0 => forked += 1,
                    _ => break,
                }
            }
            forked
        });
        assert!(libc::WIFEXITED(status), "status {status}");
        // pids.max 4: the child and three more.
        assert_eq!(libc::WEXITSTATUS(status), 3);
        let dir = child.dir().to_owned();
        drop(child);
        for _ in 0..200 {
            if !dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} was not removed", dir.display());
    }

    #[test]
    fn cgroup_memory_max_kills_a_child_that_goes_past_it() {
        let Some(cgroups) = cgroups() else { return };
        assert!(cgroups.controllers().contains(&"memory"), "{cgroups:?}");
        let limits = CgroupLimits {
            memory_max: 16 << 20,
            pids_max: 16,
            cpu_percent: 100,
        };
        let (child, status) = in_child_cgroup(&cgroups, limits, || {
            // SAFETY: an anonymous mapping of 64 MiB, touched page by page.
            unsafe {
                let size = 64 << 20;
                let pages = libc::mmap(
                    std::ptr::null_mut(),
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
                .cast::<u8>();
                for offset in (0..size).step_by(4096) {
                    std::ptr::write_volatile(pages.add(offset), 1);
                }
            }
            0
        });
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
            "touching 64 MiB under memory.max 16 MiB was not killed (status {status})"
        );
        assert!(child.memory_peak().is_none_or(|peak| peak <= 16 << 20));
    }
}
