//! Native functions: an x86_64 Linux executable run as a child process with
//! real OS pipes on fd 0 and fd 1, fd 2 to the log, an empty environment, a
//! process group of its own (killed whole at the end), rlimits and the
//! native-child seccomp filter of `faasrt-isolation`.
//!
//! The executable lives in a sealed memfd, never in a file a user could
//! name: it is executed through `/proc/self/fd/N`. In a pipeline, the OS
//! pipes are bridged to faasrt's in-process pipes with the same semantics:
//! the neighbour's exit is EOF on the child's stdin, a gone reader makes the
//! child's next write fail with `EPIPE` (or `SIGPIPE`).

use crate::engine::RunRequest;
use crate::error::RuntimeError;
use crate::host_threads::HostThreads;
use crate::invocation::{Invocation, InvocationStatus};
use bytes::Bytes;
use faasrt_host_api::{Faasin, LogTail, PipeWriter, ReadOutcome};
use faasrt_isolation::{ChildLimits, SeccompProgram};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// An executable held in a sealed memfd.
pub(crate) struct NativeExecutable {
    memfd: std::fs::File,
}

/// Checks that `bytes` are a 64-bit little-endian ELF executable for this
/// machine's architecture.
pub(crate) fn validate_executable(bytes: &[u8]) -> Result<(), RuntimeError> {
    let invalid = |reason: &str| RuntimeError::InvalidExecutable {
        reason: reason.to_owned(),
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(invalid("not an ELF executable"));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(invalid("not a 64-bit little-endian ELF file"));
    }
    let kind = u16::from_le_bytes([bytes[16], bytes[17]]);
    if kind != 2 && kind != 3 {
        return Err(invalid("an ELF object, not an executable"));
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let expected = match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        _ => {
            return Err(invalid(
                "native functions are not supported on this architecture",
            ));
        }
    };
    if machine != expected {
        return Err(invalid(&format!(
            "built for another architecture (ELF machine {machine}), not {}",
            std::env::consts::ARCH
        )));
    }
    Ok(())
}

impl NativeExecutable {
    /// Validates `bytes` and seals them into a memfd.
    pub(crate) fn new(bytes: &[u8]) -> Result<Self, RuntimeError> {
        validate_executable(bytes)?;
        let fail = |what: &'static str| RuntimeError::NativeExecutable {
            what,
            source: std::io::Error::last_os_error(),
        };
        // SAFETY: memfd_create(2) with a NUL-terminated name and valid flags.
        let fd = unsafe {
            libc::memfd_create(
                c"faasrt-native".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(fail("memfd_create"));
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let mut memfd = unsafe { std::fs::File::from_raw_fd(fd) };
        memfd
            .write_all(bytes)
            .map_err(|source| RuntimeError::NativeExecutable {
                what: "write",
                source,
            })?;
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: fcntl(2) on the memfd we own, with valid seal flags.
        if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(fail("seal"));
        }
        Ok(NativeExecutable { memfd })
    }

    fn path(&self) -> String {
        format!("/proc/self/fd/{}", self.memfd.as_raw_fd())
    }
}

/// Descriptors a native stage uses as they are instead of bridged pipes.
#[derive(Default)]
pub(crate) struct OsStdio {
    /// Its stdin (`None`: fed from `RunRequest::input`).
    pub stdin: Option<std::os::fd::OwnedFd>,
    /// Its stdout (`None`: to `RunRequest::output` or captured).
    pub stdout: Option<std::os::fd::OwnedFd>,
}

/// Runs native functions with the runtime's output and log limits.
pub(crate) struct NativeRunner {
    /// The filesystem view (Landlock), where the kernel has it.
    fs: Option<Arc<faasrt_isolation::FsSandbox>>,
    /// Native processes spawned and not yet reaped.
    live: Arc<std::sync::atomic::AtomicUsize>,
    /// `None` where the probe found no seccomp: then it is not installed
    /// (and `faasrt doctor` says so), rather than failing every spawn.
    filter: Option<Arc<SeccompProgram>>,
    /// `None` where this process's cgroup is not delegated to it: then the
    /// rlimits alone bound native functions (and `faasrt doctor` says so).
    cgroups: Option<Arc<faasrt_isolation::NativeCgroups>>,
    /// faasrt is a child subreaper: orphaned processes of native functions
    /// become its children, and it reaps them.
    subreaper: bool,
    max_output_bytes: usize,
    log_tail_bytes: usize,
}

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

/// Bytes moved per read between an OS pipe and an in-process pipe.
const CHUNK: usize = 64 << 10;

impl NativeRunner {
    pub(crate) fn new(
        max_output_bytes: usize,
        log_tail_bytes: usize,
    ) -> Result<Self, RuntimeError> {
        let probed = faasrt_isolation::probe();
        let filter = if crate::doctor::available(&probed, "seccomp") {
            Some(Arc::new(faasrt_isolation::native_child_filter()?))
        } else {
            tracing::warn!("no seccomp on this machine: native functions run without a filter");
            None
        };
        let fs = if faasrt_isolation::landlock_abi().is_some() {
            let sandbox = faasrt_isolation::FsSandbox::new(faasrt_isolation::NATIVE_READABLE)?;
            Some(Arc::new(sandbox))
        } else {
            tracing::warn!("no Landlock in this kernel: native functions see the host filesystem");
            None
        };
        let cgroups = if crate::doctor::available(&probed, "cgroup-v2") {
            match faasrt_isolation::NativeCgroups::setup() {
                Ok(cgroups) => Some(Arc::new(cgroups)),
                Err(error) => {
                    tracing::warn!(%error, "cgroup v2 delegated but unusable: native functions are limited by rlimits only");
                    None
                }
            }
        } else {
            None
        };
        // SAFETY: prctl(2) with integer arguments only.
        let subreaper = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
        if !subreaper {
            tracing::warn!(
                "cannot become a child subreaper: orphans of native functions are left to init"
            );
        }
        Ok(NativeRunner {
            fs,
            live: Arc::default(),
            filter,
            cgroups,
            subreaper,
            max_output_bytes,
            log_tail_bytes,
        })
    }

    /// Runs `exe` once and reports how it ended, as for a wasm invocation.
    ///
    /// `os` replaces the bridged stdin or stdout: the child gets those
    /// descriptors as they are (the ends of a splice edge to an adjacent
    /// native stage), and `run.input` or `run.output` is not used.
    pub(crate) async fn run_with(
        &self,
        host: &HostThreads,
        exe: &NativeExecutable,
        run: RunRequest,
        os: OsStdio,
    ) -> Invocation {
        let started = Instant::now();
        let log = LogTail::new(self.log_tail_bytes);
        let limits = ChildLimits {
            address_space: (run.memory_limit as u64).max(64 << 20),
            cpu_seconds: run.timeout.as_secs().max(1) + 1,
            open_files: 64,
            file_size: 64 << 20,
            processes: 256,
        };
        // Its own cgroup, where delegated: memory, process and CPU limits
        // that cover everything it forks, and a kill that reaches processes
        // which left its process group.
        let cgroup = match &self.cgroups {
            None => None,
            Some(cgroups) => match cgroups.create(&faasrt_isolation::CgroupLimits {
                memory_max: (run.memory_limit as u64).max(64 << 20),
                pids_max: limits.processes,
                cpu_percent: 100,
            }) {
                Ok(cgroup) => Some(cgroup),
                Err(error) => {
                    return finished(
                        InvocationStatus::Trapped {
                            message: format!("cannot create the function's cgroup: {error}"),
                            detail: error.to_string(),
                        },
                        Bytes::new(),
                        &log,
                        started,
                    );
                }
            },
        };
        let procs_fd = cgroup.as_ref().map_or(-1, |c| c.procs_fd());
        let filter = self.filter.clone();
        let fs = self.fs.clone();
        let mut command = Command::new(exe.path());
        // Run as root, faasrt hands native functions to an unprivileged user:
        // they cannot read root's files (/etc/shadow), signal or trace
        // faasrt, and RLIMIT_NPROC applies to them (it does not to root).
        // std drops supplementary groups when it leaves root.
        // SAFETY: geteuid(2) takes no arguments.
        let as_root = unsafe { libc::geteuid() } == 0;
        if as_root {
            command.uid(UNPRIVILEGED_ID).gid(UNPRIVILEGED_ID);
        }
        command
            .arg0(run.args.first().map_or("native", String::as_str))
            .args(run.args.iter().skip(1))
            .env_clear()
            .stdin(os.stdin.map_or_else(std::process::Stdio::piped, Into::into))
            .stdout(
                os.stdout
                    .map_or_else(std::process::Stdio::piped, Into::into),
            )
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let exec = ExecArgs::new(&run.args);
        let memfd = exe.memfd.as_raw_fd();
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
        // Forked from a host thread: the threads that run guest code may not
        // create processes (their seccomp role, `thread_role.rs`). The
        // child's pipes and its reaping are registered with the caller's
        // runtime, which awaits them. The command holds the parent's copies
        // of descriptors handed to the child (a splice edge's ends): they
        // close with it, right after the spawn, or the next stage would
        // never see EOF.
        let caller = tokio::runtime::Handle::current();
        let spawned = host
            .run(move || {
                let _caller = caller.enter();
                let spawned = command.spawn();
                drop(command);
                spawned
            })
            .await
            .unwrap_or_else(|error| Err(std::io::Error::other(error)));
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                return finished(
                    InvocationStatus::Trapped {
                        message: format!("cannot start the executable: {error}"),
                        detail: error.to_string(),
                    },
                    Bytes::new(),
                    &log,
                    started,
                );
            }
        };
        let _alive = LiveProcess::new(&self.live);
        let pid = child.id().map(|id| id as libc::pid_t);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().expect("piped");
        let feed = async {
            if let Some(stdin) = stdin {
                feed_stdin(run.input, stdin).await;
            }
        };
        let pump = async {
            match stdout {
                Some(stdout) => pump_stdout(stdout, run.output, self.max_output_bytes).await,
                None => Captured::Streamed,
            }
        };
        let drain_log = async {
            let mut stderr = stderr;
            let mut buffer = vec![0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                // The tail is kept; past the log limit the process is not
                // stopped for it, its stderr is a pipe the kernel bounds.
                let _ = log.append(&buffer[..n]);
            }
        };
        let kill_group = || {
            if let Some(pid) = pid {
                // SAFETY: kill(2) of the process group this child leads.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        };
        let wait = async {
            let status = match tokio::time::timeout(run.timeout, child.wait()).await {
                Ok(status) => Ok(status),
                Err(elapsed) => {
                    kill_group();
                    // Reaped by tokio before the group's other members are
                    // reaped below, which must not take the leader.
                    let _ = child.wait().await;
                    Err(elapsed)
                }
            };
            // Whatever happened, nothing of the function may outlive it:
            // its whole process group goes (it may have forked). The
            // invocation ends when they are gone, not merely signalled:
            // until then they count against the unprivileged user's process
            // limit that every native function shares (a fork bomb's
            // hundreds take a moment to die).
            kill_group();
            if let Some(pid) = pid {
                process_group_gone(pid, self.subreaper).await;
            }
            status
        };
        let ((), captured, (), waited) = tokio::join!(feed, pump, drain_log, wait);
        // Ends anything still in the cgroup (a process that called setsid)
        // and removes it.
        drop(cgroup);
        let status = match (waited, &captured) {
            (Err(_elapsed), _) => InvocationStatus::TimedOut {
                limit_ms: run.timeout.as_millis() as u64,
            },
            (_, Captured::TooLarge) => InvocationStatus::OutputTooLarge {
                limit: self.max_output_bytes,
            },
            (Ok(Ok(status)), _) => InvocationStatus::Exited(
                status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            ),
            (Ok(Err(error)), _) => InvocationStatus::Trapped {
                message: format!("waiting for the process failed: {error}"),
                detail: error.to_string(),
            },
        };
        let output = match captured {
            Captured::Bytes(bytes) => bytes,
            Captured::Streamed | Captured::TooLarge => Bytes::new(),
        };
        finished(status, output, &log, started)
    }
}

impl NativeRunner {
    /// Native processes spawned and not yet reaped.
    pub(crate) fn live_processes(&self) -> usize {
        self.live.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Counts a spawned process until the invocation is done with it (it is
/// reaped before this is dropped).
struct LiveProcess<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> LiveProcess<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LiveProcess(count)
    }
}

impl Drop for LiveProcess<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn finished(
    status: InvocationStatus,
    output: Bytes,
    log: &LogTail,
    started: Instant,
) -> Invocation {
    Invocation {
        status,
        output,
        log_tail: log.text(),
        duration: started.elapsed(),
    }
}

/// Writes the input into the child's stdin, then closes it (EOF). Stops
/// when the child closes its stdin (it exited, or does not read).
/// Waits until no process of group `pgid` exists any more, for at most two
/// seconds. Its leader must be reaped already. As a subreaper, faasrt
/// inherits the group's orphans and reaps them here (`waitpid` on the
/// group takes only its members, never another child that tokio waits
/// for); otherwise whoever inherited them (init) reaps them.
async fn process_group_gone(pgid: libc::pid_t, subreaper: bool) {
    const LIMIT: Duration = Duration::from_secs(2);
    let since = Instant::now();
    loop {
        if subreaper {
            let mut status = 0;
            // SAFETY: waitpid(2) on the group, not blocking.
            while unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) } > 0 {}
        }
        // SAFETY: kill(2) with signal 0 only checks that the group exists.
        if unsafe { libc::kill(-pgid, 0) } != 0 {
            return;
        }
        if since.elapsed() > LIMIT {
            tracing::warn!(pgid, "a native process group outlived SIGKILL by {LIMIT:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn feed_stdin(input: Faasin, mut stdin: tokio::process::ChildStdin) {
    match input {
        Faasin::Bytes(bytes) => {
            let _ = stdin.write_all(&bytes).await;
        }
        Faasin::Unavailable => {}
        Faasin::Pipe(reader) => {
            while let ReadOutcome::Data(bytes) = reader.read(CHUNK).await {
                if stdin.write_all(&bytes).await.is_err() {
                    // The child stopped reading: dropping the reader breaks
                    // the pipe for the stage before, as a shell would.
                    break;
                }
            }
        }
    }
}

/// What came of the child's stdout.
enum Captured {
    Bytes(Bytes),
    Streamed,
    TooLarge,
}

/// Copies the child's stdout into the next stage's pipe, or captures it up
/// to `limit` bytes.
async fn pump_stdout(
    mut stdout: tokio::process::ChildStdout,
    output: Option<PipeWriter>,
    limit: usize,
) -> Captured {
    let mut buffer = vec![0u8; CHUNK];
    match output {
        Some(writer) => {
            while let Ok(n) = stdout.read(&mut buffer).await {
                if n == 0
                    || writer
                        .write_all(Bytes::copy_from_slice(&buffer[..n]))
                        .await
                        .is_err()
                {
                    // EOF, or the next stage is gone: dropping stdout makes
                    // the child's next write fail with EPIPE.
                    break;
                }
            }
            Captured::Streamed
        }
        None => {
            let mut captured = Vec::new();
            while let Ok(n) = stdout.read(&mut buffer).await {
                if n == 0 {
                    return Captured::Bytes(Bytes::from(captured));
                }
                if captured.len() + n > limit {
                    return Captured::TooLarge;
                }
                captured.extend_from_slice(&buffer[..n]);
            }
            Captured::Bytes(Bytes::from(captured))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_elf_executables_for_this_machine_are_accepted() {
        let own = std::fs::read(std::env::current_exe().expect("test binary")).expect("read");
        assert!(validate_executable(&own).is_ok());
        for bad in [&b"#!/bin/sh\necho hi\n"[..], b"\x7fELF", &[0u8; 100]] {
            assert!(matches!(
                validate_executable(bad),
                Err(RuntimeError::InvalidExecutable { .. })
            ));
        }
        let mut other_machine = own.clone();
        other_machine[18] = 0x28; // ARM
        other_machine[19] = 0;
        assert!(validate_executable(&other_machine).is_err());
    }

    /// Where the server's cgroup is delegated (here: only in the VM of
    /// `scripts/test-pkeys`, which mounts a cgroup v2 hierarchy and sets
    /// FAASRT_EXPECT_CGROUPS=1), each native invocation gets a cgroup of
    /// its own, joined before exec, and removed when it ends.
    #[tokio::test]
    async fn cgroup_each_native_invocation_runs_in_a_cgroup_that_goes_with_it() {
        let expected = std::env::var_os("FAASRT_EXPECT_CGROUPS").is_some_and(|v| v == "1");
        if !crate::doctor::available(&faasrt_isolation::probe(), "cgroup-v2") {
            assert!(!expected, "cgroups were expected here");
            eprintln!("skipped: this process's cgroup is not delegated to it");
            return;
        }
        if !faasrt_example_artifacts::native_examples_built() {
            eprintln!("skipped: native examples are built on x86_64 Linux only");
            return;
        }
        let runner = NativeRunner::new(1 << 20, 4096).expect("runner");
        let host = HostThreads::start(crate::host_threads::DEFAULT_KEEP_ALIVE).expect("host");
        let cgroups = runner.cgroups.clone().expect("cgroups where delegated");
        let hello = faasrt_example_artifacts::get_native("hello-native").expect("hello-native");
        let exe = NativeExecutable::new(hello.executable).expect("executable");
        for _ in 0..2 {
            let invocation = runner
                .run_with(
                    &host,
                    &exe,
                    RunRequest {
                        args: vec!["hello".into()],
                        input: Faasin::Bytes(Bytes::new()),
                        output: None,
                        memory_limit: 64 << 20,
                        timeout: std::time::Duration::from_secs(10),
                    },
                    OsStdio::default(),
                )
                .await;
            assert!(
                invocation.status.is_success(),
                "{:?}: {}",
                invocation.status,
                invocation.log_tail
            );
            assert_eq!(&invocation.output[..], b"Hello, world!\n");
        }
        assert_eq!(cgroups.created(), 2);
        let left = || {
            std::fs::read_dir(cgroups.parent())
                .expect("faasrt-native")
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .count()
        };
        for _ in 0..200 {
            if left() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{} cgroups were not removed", left());
    }
}
