//! The sandbox a native child enters between fork and exec: an
//! unprivileged user when faasrt is root, its cgroup, rlimits, the Landlock
//! filesystem view and the native-child seccomp filter, then `execveat` of
//! the sealed executable. Nothing here runs the child; it builds the
//! command that will.

use super::executable::NativeExecutable;
use super::stdio::OsStdio;
use crate::invocation::RunRequest;
use faasrt_isolation::{ChildLimits, FsSandbox, SeccompProgram};
use std::sync::Arc;
use tokio::process::Command;

/// The user and group native functions run as when faasrt runs as root:
/// `nobody` / `nogroup` on Debian.
const UNPRIVILEGED_ID: u32 = 65534;

/// `argv` and an empty `envp` as the NULL-terminated pointer arrays
/// `execveat` takes, built before the fork (the child may not allocate).
struct ExecArgs {
    _strings: Vec<std::ffi::CString>,
    argv: Vec<*const libc::c_char>,
    envp: [*const libc::c_char; 1],
}

// SAFETY: the pointers point into `_strings`, which the struct owns and never
// changes; they are only read, in the forked child.
unsafe impl Send for ExecArgs {}
// SAFETY: as above: nothing mutates through them.
unsafe impl Sync for ExecArgs {}

impl ExecArgs {
    /// `args` as `argv` (NUL bytes removed), and an empty environment.
    fn new(args: &[String]) -> Self {
        let strings: Vec<std::ffi::CString> = args
            .iter()
            .map(|arg| std::ffi::CString::new(arg.replace('\0', "")).expect("NUL bytes removed"))
            .collect();
        let mut argv: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        argv.push(std::ptr::null());
        ExecArgs {
            _strings: strings,
            argv,
            envp: [std::ptr::null()],
        }
    }
}

/// The rlimits of one run: its memory limit (at least 64 MiB of address
/// space), one second of CPU past its timeout, and fixed bounds on files
/// and processes.
pub(super) fn child_limits(run: &RunRequest) -> ChildLimits {
    ChildLimits {
        address_space: (run.memory_limit as u64).max(64 << 20),
        cpu_seconds: run.timeout.as_secs().max(1) + 1,
        open_files: 64,
        file_size: 64 << 20,
        processes: 256,
    }
}

/// What the child is confined by, beyond its rlimits.
pub(super) struct Confinement {
    /// Its rlimits.
    pub limits: ChildLimits,
    /// The `cgroup.procs` descriptor of its cgroup, or -1 for none.
    pub procs_fd: std::os::fd::RawFd,
    /// Its end of the key-value channel, moved to
    /// [`faasrt_host_api::NATIVE_KV_FD`].
    pub kv_fd: std::os::fd::RawFd,
    /// The filesystem view, where the kernel has Landlock.
    pub fs: Option<Arc<FsSandbox>>,
    /// The seccomp filter, where the kernel has seccomp.
    pub filter: Option<Arc<SeccompProgram>>,
}

/// The command that runs `exe` with `args` (the first is `argv[0]`) in
/// `confinement`: an empty environment, a process group of its own (killed
/// with the command), stdin and stdout from `os` or piped, stderr piped.
pub(super) fn sandboxed_command(
    exe: &NativeExecutable,
    args: &[String],
    os: OsStdio,
    confinement: Confinement,
) -> Command {
    let mut command = Command::new(exe.path());
    // Run as root, faasrt hands native functions to an unprivileged user:
    // they cannot read root's files (/etc/shadow), signal or trace
    // faasrt, and RLIMIT_NPROC applies to them (it does not to root).
    // std drops supplementary groups when it leaves root.
    let as_root = rustix::process::geteuid().is_root();
    if as_root {
        command.uid(UNPRIVILEGED_ID).gid(UNPRIVILEGED_ID);
    }
    command
        .arg0(args.first().map_or("native", String::as_str))
        .args(args.iter().skip(1))
        .env_clear()
        .stdin(os.stdin.map_or_else(std::process::Stdio::piped, Into::into))
        .stdout(
            os.stdout
                .map_or_else(std::process::Stdio::piped, Into::into),
        )
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let exec = ExecArgs::new(args);
    let memfd = exe.raw_fd();
    let Confinement {
        limits,
        procs_fd,
        kv_fd,
        fs,
        filter,
    } = confinement;
    // SAFETY: runs in the child between fork and exec, and only makes
    // system calls (dup3, setrlimit, prctl, seccomp, execveat) on data
    // prepared before the fork; nothing allocates or takes locks.
    unsafe {
        command.pre_exec(move || {
            // Use `exec` whole: the closure must own all of it (its
            // pointer fields alone are not Send).
            let exec = &exec;
            // Into its cgroup first, so that all it does is counted.
            if procs_fd >= 0 {
                faasrt_isolation::ChildCgroup::join(procs_fd)?;
            }
            // The program is started from EXEC_FD, the one descriptor
            // the filter lets execveat use; RLIMIT_NOFILE (set next)
            // keeps the program from ever opening one there itself.
            // dup3 and execveat are plain system calls (inside the
            // unsafe block above).
            if libc::dup3(memfd, faasrt_isolation::EXEC_FD, libc::O_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The key-value channel stays open across the exec (no
            // O_CLOEXEC), at the descriptor the SDKs use.
            if libc::dup3(kv_fd, faasrt_host_api::NATIVE_KV_FD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            limits.apply()?;
            if let Some(fs) = &fs {
                fs.restrict()?;
            }
            if let Some(filter) = &filter {
                filter.install()?;
            }
            libc::syscall(
                libc::SYS_execveat,
                faasrt_isolation::EXEC_FD,
                c"".as_ptr(),
                exec.argv.as_ptr(),
                exec.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
            // execveat only returns when it failed.
            Err(std::io::Error::last_os_error())
        });
    }
    command
}
