//! Landlock: the filesystem view of native functions. A native function
//! may read the system's shared libraries (so dynamically linked programs
//! start) and `/dev/null`, and nothing else: no `/etc/passwd`, no home
//! directories, no writing anywhere. Execution is not restricted here (the
//! program itself lives in a memfd, outside any path); the seccomp filter
//! allows exactly one exec, see [`crate::EXEC_FD`].

use crate::IsolationError;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const ACCESS_WRITE_FILE: u64 = 1 << 1;
const ACCESS_READ_FILE: u64 = 1 << 2;
const ACCESS_READ_DIR: u64 = 1 << 3;
/// Every filesystem right of Landlock ABI 1 but EXECUTE (bit 0).
const ABI1_HANDLED: u64 = ((1 << 13) - 1) & !1;
const ACCESS_REFER: u64 = 1 << 13;
const ACCESS_TRUNCATE: u64 = 1 << 14;
const RULE_PATH_BENEATH: libc::c_int = 1;
const CREATE_RULESET_VERSION: u32 = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of this kernel, or `None` without Landlock.
pub fn landlock_abi() -> Option<i64> {
    // SAFETY: landlock_create_ruleset(2) asking only for the ABI version.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    (version > 0).then_some(version)
}

/// A Landlock ruleset built once, applied in each native child before exec.
pub struct FsSandbox {
    ruleset: OwnedFd,
}

impl FsSandbox {
    /// Builds the ruleset: read access beneath each existing path of
    /// `readable` (directories or files), `/dev/null` readable and
    /// writable, every other filesystem access refused.
    ///
    /// # Errors
    /// [`IsolationError::NoLandlock`] when the kernel has no Landlock,
    /// [`IsolationError::Landlock`] when it refuses the ruleset.
    pub fn new(readable: &[&str]) -> Result<Self, IsolationError> {
        let abi = landlock_abi().ok_or(IsolationError::NoLandlock)?;
        let mut handled = ABI1_HANDLED;
        if abi >= 2 {
            handled |= ACCESS_REFER;
        }
        if abi >= 3 {
            handled |= ACCESS_TRUNCATE;
        }
        let attr = RulesetAttr {
            handled_access_fs: handled,
        };
        // SAFETY: landlock_create_ruleset(2) with a valid attribute struct
        // and its size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr,
                std::mem::size_of::<RulesetAttr>(),
                0u32,
            )
        };
        if fd < 0 {
            return Err(IsolationError::Landlock {
                what: "landlock_create_ruleset".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: a new descriptor owned by nothing else.
        let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let sandbox = FsSandbox { ruleset };
        for path in readable {
            sandbox.allow(path, ACCESS_READ_FILE | ACCESS_READ_DIR)?;
        }
        sandbox.allow("/dev/null", ACCESS_READ_FILE | ACCESS_WRITE_FILE)?;
        Ok(sandbox)
    }

    /// Allows `access` beneath `path`; a missing path is skipped.
    fn allow(&self, path: &str, access: u64) -> Result<(), IsolationError> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(_) => return Ok(()),
        };
        let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
        // Rights that only make sense on directories may not be given to a
        // file.
        let access = if is_dir {
            access
        } else {
            access & !ACCESS_READ_DIR
        };
        let rule = PathBeneathAttr {
            allowed_access: access,
            parent_fd: file.as_raw_fd(),
        };
        // SAFETY: landlock_add_rule(2) on our ruleset with a valid rule.
        let added = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.ruleset.as_raw_fd(),
                RULE_PATH_BENEATH,
                &rule,
                0u32,
            )
        };
        if added != 0 {
            return Err(IsolationError::Landlock {
                what: format!("landlock_add_rule {path}"),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Confines the calling process (and what it execs) to the ruleset.
    /// Only makes system calls, so it may run between fork and exec.
    ///
    /// # Errors
    /// The `prctl` or `landlock_restrict_self` call failed.
    pub fn restrict(&self) -> std::io::Result<()> {
        // SAFETY: prctl(2) setting no_new_privs, which Landlock requires.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: landlock_restrict_self(2) with our ruleset descriptor.
        if unsafe {
            libc::syscall(
                libc::SYS_landlock_restrict_self,
                self.ruleset.as_raw_fd(),
                0u32,
            )
        } != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// What native functions may read: the shared libraries and the loader's
/// cache.
pub const NATIVE_READABLE: &[&str] = &[
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/etc/ld.so.cache",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_landlock_failure_says_landlock_and_keeps_its_cause() {
        let error = IsolationError::Landlock {
            what: "landlock_add_rule /usr".into(),
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        };
        let message = error.to_string();
        assert!(
            message.contains("Landlock") && !message.contains("seccomp"),
            "{message}"
        );
        let source = std::error::Error::source(&error).expect("the kernel's answer");
        assert!(source.to_string().contains("Invalid argument"), "{source}");
        assert!(!IsolationError::NoLandlock.to_string().contains("seccomp"));
    }

    #[test]
    fn a_confined_child_reads_libraries_and_nothing_else() {
        if landlock_abi().is_none() {
            eprintln!("skipped: no Landlock in this kernel");
            return;
        }
        let sandbox = FsSandbox::new(NATIVE_READABLE).expect("ruleset");
        // The child only makes system calls.
        let status = crate::test_support::in_child(|| {
            if sandbox.restrict().is_err() {
                99
            } else {
                // SAFETY: open(2) with NUL-terminated paths; the results are
                // only compared with -1.
                let passwd = unsafe { libc::open(c"/etc/passwd".as_ptr(), libc::O_RDONLY) };
                // SAFETY: as above.
                let cache = unsafe { libc::open(c"/etc/ld.so.cache".as_ptr(), libc::O_RDONLY) };
                // SAFETY: as above.
                let tmp = unsafe {
                    libc::open(
                        c"/tmp/faasrt-landlock".as_ptr(),
                        libc::O_CREAT | libc::O_WRONLY,
                        0o600,
                    )
                };
                if passwd < 0 && cache >= 0 && tmp < 0 {
                    0
                } else {
                    1
                }
            }
        });
        assert_eq!(libc::WEXITSTATUS(status), 0, "status {status}");
    }
}
