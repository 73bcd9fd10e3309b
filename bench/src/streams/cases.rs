//! faasrt's cases of `faasrt-bench streams`, on an in-process runtime with
//! a data directory (so the logs and commits are durable, fsync included):
//! a stateless stage, a keyed count with checkpoints at different
//! intervals, replicas 1 and 2, the commit of an epoch, and recovery after
//! a fault.

use anyhow::{Context, bail};
use faasrt_runtime::{DeployOptions, Runtime, RuntimeConfig};
use faasrt_streams::faults::{FaultInjector, InjectedFault};
use faasrt_streams::store::{Checkpoint, StateChange, StreamStore};
use faasrt_streams::{RestartPolicy, Streams};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A runtime on a fresh data directory with `cat` and `word-count`.
pub(super) async fn open(dir: &std::path::Path) -> anyhow::Result<(Runtime, Streams)> {
    let runtime = Runtime::open(RuntimeConfig::new(dir))?;
    for name in ["cat", "word-count"] {
        let wasm = faasrt_example_artifacts::get(name)
            .context("examples are built")?
            .wasm;
        runtime
            .deploy(name, wasm.into(), DeployOptions::default())
            .await?;
    }
    let streams = Streams::open(runtime.clone())?;
    Ok((runtime, streams))
}

/// One run of a stream over `records`: the wall time from start to the
/// drained end, and the process's CPU time in it.
pub(super) struct Run {
    pub wall: Duration,
    pub cpu: Duration,
}

/// Creates stream `name` with `spec`, fills its input log with `lines`,
/// then times start .. drained.
pub(super) async fn run_stream(
    streams: &Streams,
    name: &str,
    spec: &str,
    lines: &[Vec<u8>],
) -> anyhow::Result<Run> {
    streams.create(name, spec.as_bytes())?;
    for chunk in lines.chunks(20_000) {
        streams.append(name, &chunk.concat())?;
    }
    let cpu = cpu_time();
    let started = Instant::now();
    streams.start(name)?;
    streams.drain(name).await?;
    while !streams.wait_stopped(name, Duration::from_secs(600)).await {}
    let wall = started.elapsed();
    let status = streams.status(name)?;
    if status.checkpoint.source_offset != lines.len() as u64 || status.state != "stopped" {
        bail!(
            "stream {name} ended {} at offset {}",
            status.state,
            status.checkpoint.source_offset
        );
    }
    Ok(Run {
        wall,
        cpu: cpu_time().saturating_sub(cpu),
    })
}

/// The CPUs this process may run on (its affinity mask), in order.
pub(super) fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|cpu| set.is_set(*cpu))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The process's user + system CPU time so far.
pub(super) fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// `n` lines of 100 bytes (99 and a newline), the first field a key drawn
/// from a Zipf-like (log-uniform) law over `keys` keys.
pub(super) fn records(n: usize, keys: u64) -> Vec<Vec<u8>> {
    faasrt_testkit::zipf::ZipfRanks::new(1, keys)
        .take(n)
        .enumerate()
        .map(|(i, key)| {
            let mut line = format!("k{key} {i} ").into_bytes();
            line.resize(99, b'x');
            line.push(b'\n');
            line
        })
        .collect()
}

/// The time of one epoch commit with `dirty` changed keys (16-byte keys,
/// 8-byte values) and no output, `samples` times, on a store in `dir`.
pub(super) fn commit_times(
    dir: &std::path::Path,
    dirty: usize,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    let data = faasrt_runtime::DataDir::open(dir)?;
    let store = StreamStore::open(&data)?;
    let mut times = Vec::with_capacity(samples);
    for epoch in 1..=samples as u64 {
        let changes: Vec<StateChange> = (0..dirty)
            .map(|k| StateChange {
                stage: 1,
                key: format!("key-{k:012}").into_bytes(),
                value: Some(epoch.to_le_bytes().to_vec()),
            })
            .collect();
        let checkpoint = Checkpoint {
            epoch,
            ..Checkpoint::default()
        };
        let started = Instant::now();
        store.commit_epoch(
            "commit",
            checkpoint,
            &changes,
            &faasrt_streams::batch::Batch::new(),
        )?;
        times.push(started.elapsed());
    }
    Ok(times)
}

/// The pause between two polls of a stream's status: 50 us. The polls run
/// on the benchmark's main thread (inside `block_on`), not on a runtime
/// worker, so a thread sleep is precise to tens of microseconds, where
/// tokio's timer would round every pause up to its 1 ms tick and make the
/// detection figure that tick.
pub(super) fn poll_pause() {
    std::thread::sleep(Duration::from_micros(50));
}

/// A trap at the first batch of stage 1 after `armed` is set; when it fired.
#[derive(Default)]
pub(super) struct OneFault {
    armed: AtomicU64,
    fired: Mutex<Option<Instant>>,
}

impl OneFault {
    pub(super) fn arm(&self) {
        self.armed.store(1, Ordering::SeqCst);
    }

    pub(super) fn fired_at(&self) -> Option<Instant> {
        *self.fired.lock().expect("lock")
    }
}

impl FaultInjector for OneFault {
    fn before_batch(&self, stage: usize, _: usize, _: u64, _: usize) -> Option<InjectedFault> {
        if stage == 1 && self.armed.swap(0, Ordering::SeqCst) == 1 {
            *self.fired.lock().expect("lock") = Some(Instant::now());
            return Some(InjectedFault::Trap);
        }
        None
    }

    fn fail_commit(&self, _: u64) -> bool {
        false
    }
}

/// Recovery after one fault in a running keyed stream: (detection, back
/// to committed output), measured by polling the status every 50 us.
pub(super) async fn recovery(
    streams: &Streams,
    name: &str,
    fault: &OneFault,
) -> anyhow::Result<(Duration, Duration)> {
    streams.set_restart_policy(RestartPolicy {
        max_failures: 1_000,
        ..RestartPolicy::default()
    });
    let spec = r#"{"stages": [{"function": "cat"}, {"function": "word-count", "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
    streams.create(name, spec.as_bytes())?;
    streams.start(name)?;
    let lines = records(2_000, 1_000);
    streams.append(name, &lines.concat())?;
    wait_until(streams, name, |s| s.checkpoint.source_offset == 2_000).await?;
    let before = streams.status(name)?;
    fault.arm();
    streams.append(name, &lines.concat())?;
    let detected = loop {
        let status = streams.status(name)?;
        if status.restarts > before.restarts {
            break Instant::now();
        }
        poll_pause();
    };
    let fired = fault.fired_at().context("the fault fired")?;
    wait_until(streams, name, |s| {
        s.checkpoint.output_end > before.checkpoint.output_end
    })
    .await?;
    let back = Instant::now();
    streams.stop(name).await?;
    Ok((detected - fired, back - fired))
}

async fn wait_until(
    streams: &Streams,
    name: &str,
    done: impl Fn(&faasrt_streams::StreamStatus) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if done(&streams.status(name)?) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "stream {name} did not get there: {:?}",
                streams.status(name)?
            );
        }
        poll_pause();
    }
}

/// The hop latency into the second of two `cat` stages (batches of at most
/// `batch_records`) while records arrive at `rate` per second for
/// `seconds`, appended every millisecond (each append one durable
/// commit of the input log): (median, p99) in microseconds, from the
/// replica's own histogram.
pub(super) async fn hop_latency(
    streams: &Streams,
    name: &str,
    rate: f64,
    seconds: f64,
    batch_records: u32,
) -> anyhow::Result<(f64, f64)> {
    let spec = format!(
        r#"{{"stages": [{{"function": "cat"}}, {{"function": "cat"}}], "checkpoint_interval_ms": 100, "batch_records": {batch_records}}}"#
    );
    streams.create(name, spec.as_bytes())?;
    streams.start(name)?;
    let tick = Duration::from_millis(1);
    let per_tick = ((rate * tick.as_secs_f64()) as usize).max(1);
    let lines: std::sync::Arc<[u8]> = records(per_tick, 10_000).concat().into();
    let started = Instant::now();
    let mut next = started;
    while started.elapsed().as_secs_f64() < seconds {
        // As the server does: the commit's fsync off the async workers.
        let (appender, records) = (streams.clone(), lines.clone());
        let stream = name.to_owned();
        tokio::task::spawn_blocking(move || appender.append(&stream, &records)).await??;
        next += tick;
        tokio::time::sleep_until(next.into()).await;
    }
    streams.drain(name).await?;
    let status = streams.status(name)?;
    let hop = &status.stages[1].replicas[0];
    match (hop.hop_p50_us, hop.hop_p99_us) {
        (Some(p50), Some(p99)) => Ok((p50, p99)),
        _ => bail!("stream {name} measured no hop: {status:?}"),
    }
}
