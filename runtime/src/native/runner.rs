//! Running one native function: its cgroup, its sandboxed command spawned
//! from a host thread, its stdio pumped while it runs, its whole process
//! group killed and gone at the end, and how it ended.

use super::child_usage::{ChildUsage, ExitWatch};
use super::executable::NativeExecutable;
use super::sandbox::{Confinement, child_limits, sandboxed_command};
use super::stdio::{Captured, OsStdio, drain_log, feed_stdin, pump_stdout};
use crate::error::RuntimeError;
use crate::host_threads::HostThreads;
use crate::hw_counters::{CounterGroup, HARDWARE, Target};
use crate::invocation::{Invocation, InvocationStatus, InvocationUsage, RunRequest};
use bytes::Bytes;
use faasrt_host_api::{Faasin, KvAccess, LogTail, PipeWriter};
use faasrt_isolation::{ChildCgroup, ChildLimits, SeccompProgram};
use rustix::process::{Pid, Signal, WaitOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

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
    /// Most bytes of output captured from one run.
    max_output_bytes: usize,
    /// Bytes of its log kept in the invocation's tail.
    log_tail_bytes: usize,
    /// Whether each run is counted with hardware counters.
    hw_counters: bool,
}

impl NativeRunner {
    /// Sets up what every native run shares: the seccomp filter, the
    /// Landlock view and the cgroups where this machine has them, and
    /// faasrt as child subreaper.
    /// `hw_counters`: count each run's cycles, instructions and LLC misses
    /// (the caller checked that this machine allows it).
    pub(crate) fn new(
        max_output_bytes: usize,
        log_tail_bytes: usize,
        hw_counters: bool,
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
        let subreaper =
            rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok();
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
            hw_counters,
        })
    }

    /// Runs `exe` once and reports how it ended, as for a wasm invocation.
    ///
    /// `os` replaces the bridged stdin or stdout: the child gets those
    /// descriptors as they are (the ends of a splice edge to an adjacent
    /// native stage), and `run.input` or `run.output` is not used. `kv` is
    /// what its key-value calls act on, over the channel it finds at
    /// [`faasrt_host_api::NATIVE_KV_FD`].
    pub(crate) async fn run_with(
        &self,
        host: &HostThreads,
        exe: &NativeExecutable,
        run: RunRequest,
        os: OsStdio,
        kv: KvAccess,
    ) -> Invocation {
        let started = Instant::now();
        let log = LogTail::new(self.log_tail_bytes);
        let limits = child_limits(&run);
        let cgroup = match self.create_cgroup(&run, &limits) {
            Ok(cgroup) => cgroup,
            Err(error) => {
                let message = format!("cannot create the function's cgroup: {error}");
                return finished(trapped(message, &error), Bytes::new(), &log, started);
            }
        };
        let (kv_host, kv_child) = match kv_channel() {
            Ok(ends) => ends,
            Err(error) => {
                let message = format!("cannot open the key-value channel: {error}");
                return finished(trapped(message, &error), Bytes::new(), &log, started);
            }
        };
        let confinement = Confinement {
            limits,
            procs_fd: cgroup.as_ref().map_or(-1, |c| c.procs_fd()),
            kv_fd: kv_child.as_raw_fd(),
            fs: self.fs.clone(),
            filter: self.filter.clone(),
        };
        let command = sandboxed_command(exe, &run.args, os, confinement);
        let spawned = spawn_on_host(host, command, self.hw_counters).await;
        // The child has its copy: the function's end closes when the last
        // of its processes is gone, which ends the channel.
        drop(kv_child);
        let (child, counters) = match spawned {
            Ok(spawned) => spawned,
            Err(error) => {
                let message = format!("cannot start the executable: {error}");
                return finished(trapped(message, &error), Bytes::new(), &log, started);
            }
        };
        let _alive = LiveProcess::new(&self.live);
        let kv = KvService {
            channel: kv_host,
            access: kv,
        };
        let ready_after = started.elapsed();
        let (waited, captured, used) = self
            .supervise(child, run.input, run.output, run.timeout, &log, kv)
            .await;
        // Ends anything still in the cgroup (a process that called setsid)
        // and removes it.
        drop(cgroup);
        let status = self.status_of(waited, &captured, run.timeout);
        let output = match captured {
            Captured::Bytes(bytes) => bytes,
            Captured::Streamed | Captured::TooLarge => Bytes::new(),
        };
        let mut invocation = finished(status, output, &log, started);
        invocation.usage = InvocationUsage {
            ready_after,
            cpu: used.map(|u| u.cpu),
            peak_memory_bytes: used.map(|u| u.peak_rss_bytes),
            // Final once its processes are gone: what they counted was
            // added to the group as each exited.
            hw: counters
                .and_then(|group| group.read().ok())
                .and_then(|reading| reading.counts()),
        };
        invocation
    }

    /// The run's own cgroup, where delegated: memory, process and CPU
    /// limits that cover everything it forks, and a kill that reaches
    /// processes which left its process group. `None` without cgroups.
    fn create_cgroup(
        &self,
        run: &RunRequest,
        limits: &ChildLimits,
    ) -> Result<Option<ChildCgroup>, faasrt_isolation::CgroupError> {
        let Some(cgroups) = &self.cgroups else {
            return Ok(None);
        };
        cgroups
            .create(&faasrt_isolation::CgroupLimits {
                memory_max: (run.memory_limit as u64).max(64 << 20),
                pids_max: limits.processes,
                cpu_percent: 100,
            })
            .map(Some)
    }

    /// Feeds the child's stdin, pumps its stdout, drains its log, serves
    /// its key-value calls and waits for it, for at most `timeout`; then
    /// kills its whole process group and waits until the group is gone.
    /// Returns how the wait ended (`Err` on timeout), what came of its
    /// stdout and what the kernel accounted to it (when it exited before
    /// its timeout). No key-value call is served after that.
    async fn supervise(
        &self,
        mut child: Child,
        input: Faasin,
        output: Option<PipeWriter>,
        timeout: Duration,
        log: &LogTail,
        kv: KvService,
    ) -> (WaitResult, Captured, Option<ChildUsage>) {
        let (gone, gone_seen) = tokio::sync::oneshot::channel::<()>();
        let pid = child.id().and_then(|id| Pid::from_raw(id as i32));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().expect("piped");
        let feed = async {
            if let Some(stdin) = stdin {
                feed_stdin(input, stdin).await;
            }
        };
        let pump = async {
            match stdout {
                Some(stdout) => pump_stdout(stdout, output, self.max_output_bytes).await,
                None => Captured::Streamed,
            }
        };
        let kill_group = || {
            if let Some(pid) = pid {
                // The group this child leads; gone already is fine.
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
        };
        let watch = child.id().and_then(ExitWatch::new);
        let mut usage = None;
        let wait = async {
            let exited = async {
                if let Some(watch) = &watch {
                    usage = watch.exited().await;
                }
                child.wait().await
            };
            let status = match tokio::time::timeout(timeout, exited).await {
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
            let _ = gone.send(());
            status
        };
        let serve_kv = kv.serve(log.clone(), gone_seen);
        let ((), captured, (), waited, ()) =
            tokio::join!(feed, pump, drain_log(stderr, log), wait, serve_kv);
        (waited, captured, usage)
    }

    /// How the run ended: its timeout, its output limit, its exit status
    /// (128 + the signal that killed it), or a failed wait.
    fn status_of(
        &self,
        waited: WaitResult,
        captured: &Captured,
        timeout: Duration,
    ) -> InvocationStatus {
        match (waited, captured) {
            (Err(_elapsed), _) => InvocationStatus::TimedOut {
                limit_ms: timeout.as_millis() as u64,
            },
            (_, Captured::TooLarge) => InvocationStatus::OutputTooLarge {
                limit: self.max_output_bytes,
            },
            (Ok(Ok(status)), _) => InvocationStatus::Exited(
                status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            ),
            (Ok(Err(error)), _) => {
                trapped(format!("waiting for the process failed: {error}"), &error)
            }
        }
    }
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

/// The host's end of a native run's key-value channel, and what its calls
/// act on.
struct KvService {
    channel: tokio::net::UnixStream,
    access: KvAccess,
}

/// How long the calls a function sent just before it ended may take to be
/// answered once its processes are gone (one that never waits for its
/// answers; the SDKs always do). Past it, the channel is dropped.
const KV_DRAIN: Duration = Duration::from_millis(100);

impl KvService {
    /// Serves the channel until the function's end of it closes, or for at
    /// most [`KV_DRAIN`] after `gone` says its processes are gone (a
    /// process that escaped its group may hold it open).
    async fn serve(self, log: LogTail, gone: tokio::sync::oneshot::Receiver<()>) {
        let serve = faasrt_host_api::serve_kv_channel(self.channel, self.access, log);
        tokio::pin!(serve);
        tokio::select! {
            () = &mut serve => {}
            _ = gone => {
                let _ = tokio::time::timeout(KV_DRAIN, serve).await;
            }
        }
    }
}

/// The two ends of a key-value channel: the host's, registered with the
/// caller's runtime, and the child's (close-on-exec; the child's sandbox
/// moves it to [`faasrt_host_api::NATIVE_KV_FD`] without the flag).
fn kv_channel() -> std::io::Result<(tokio::net::UnixStream, std::os::fd::OwnedFd)> {
    let (host, child) = std::os::unix::net::UnixStream::pair()?;
    host.set_nonblocking(true)?;
    Ok((tokio::net::UnixStream::from_std(host)?, child.into()))
}

/// How waiting for the child ended: its exit status (or why the wait
/// failed), or its timeout.
type WaitResult = Result<std::io::Result<std::process::ExitStatus>, tokio::time::error::Elapsed>;

/// Spawns `command` from a host thread: the threads that run guest code may
/// not create processes (their seccomp role, `thread_role.rs`). The child's
/// pipes and its reaping are registered with the caller's runtime, which
/// awaits them. The command holds the parent's copies of descriptors handed
/// to the child (a splice edge's ends): they close with it, right after the
/// spawn, or the next stage would never see EOF. With `count`, the child's
/// hardware counters are opened right there, as soon after its `exec` as
/// faasrt can (`None` when the kernel refused them).
async fn spawn_on_host(
    host: &HostThreads,
    mut command: Command,
    count: bool,
) -> std::io::Result<(Child, Option<CounterGroup>)> {
    let caller = tokio::runtime::Handle::current();
    host.run(move || {
        let _caller = caller.enter();
        let spawned = command.spawn();
        let counters = match (&spawned, count) {
            (Ok(child), true) => child
                .id()
                .and_then(|pid| CounterGroup::open(&HARDWARE, Target::Process(pid)).ok()),
            _ => None,
        };
        drop(command);
        spawned.map(|child| (child, counters))
    })
    .await
    .unwrap_or_else(|error| Err(std::io::Error::other(error)))
}

/// The status of a run that failed to start or to be waited for.
fn trapped(message: String, error: &dyn std::fmt::Display) -> InvocationStatus {
    InvocationStatus::Trapped {
        message,
        detail: error.to_string(),
    }
}

/// The invocation that reports `status`, `output` and the log's tail.
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
        usage: InvocationUsage::default(),
        seq: 0,
    }
}

/// Waits until no process of group `pgid` exists any more, for at most two
/// seconds. Its leader must be reaped already. As a subreaper, faasrt
/// inherits the group's orphans and reaps them here (`waitpid` on the
/// group takes only its members, never another child that tokio waits
/// for); otherwise whoever inherited them (init) reaps them.
async fn process_group_gone(pgid: Pid, subreaper: bool) {
    const LIMIT: Duration = Duration::from_secs(2);
    let since = Instant::now();
    loop {
        if subreaper {
            while let Ok(Some(_)) = rustix::process::waitpgid(pgid, WaitOptions::NOHANG) {}
        }
        // Signal 0 only checks that the group exists.
        if rustix::process::test_kill_process_group(pgid).is_err() {
            return;
        }
        if since.elapsed() > LIMIT {
            let pgid = pgid.as_raw_nonzero().get();
            tracing::warn!(pgid, "a native process group outlived SIGKILL by {LIMIT:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::RunRequest;
    use crate::native::{NativeExecutable, OsStdio};
    use faasrt_host_api::Faasin;

    /// Where the server's cgroup is delegated (here: only in the VM of
    /// `scripts/test-pkeys`, which mounts a cgroup v2 hierarchy and sets
    /// FAASRT_EXPECT_CGROUPS=1), each native invocation gets a cgroup of
    /// its own, joined before exec, and removed when it ends.
    #[tokio::test]
    async fn cgroup_each_native_invocation_runs_in_a_cgroup_that_goes_with_it() {
        faasrt_testkit::require!(
            crate::doctor::available(&faasrt_isolation::probe(), "cgroup-v2"),
            "FAASRT_EXPECT_CGROUPS",
            "this process's cgroup is not delegated to it"
        );
        faasrt_testkit::require!(
            faasrt_example_artifacts::native_examples_built(),
            "FAASRT_EXPECT_NATIVE",
            "native examples are built on x86_64 Linux only"
        );
        let runner = NativeRunner::new(1 << 20, 4096, false).expect("runner");
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
                        kv: crate::invocation::KvUse::Refused,
                    },
                    OsStdio::default(),
                    faasrt_host_api::KvAccess::Unavailable,
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
