//! What each replica counts while it runs: records and bytes in and out,
//! and where its time went (busy in its function, backpressured on a
//! full downstream, idle waiting for input). Atomics, so the status route
//! reads them without stopping anything; they survive the replica's
//! restarts.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The counters of one replica.
#[derive(Debug, Default)]
pub struct ReplicaStats {
    records_in: AtomicU64,
    records_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    invocations: AtomicU64,
    busy_ns: AtomicU64,
    backpressured_ns: AtomicU64,
    idle_ns: AtomicU64,
    restarts: AtomicU64,
    /// The last invocation's exit code; `i64::MIN` before any.
    last_exit_code: AtomicI64,
    thread: Mutex<Option<String>>,
    /// The CPU its last batch ran on; -1 before any.
    cpu: AtomicI64,
    /// The CPU its thread is pinned to; -1 when not pinned.
    pinned: AtomicI64,
    /// How long batches took from being handed to this replica's input
    /// edges to being taken off them, in nanoseconds.
    hops: Mutex<Option<Histogram<u64>>>,
}

/// A replica's counters as the status shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaReport {
    /// The replica's index in its stage.
    pub replica: usize,
    /// `running`, `restarting`, `failed`, `stopped`.
    pub status: &'static str,
    /// Records it was handed.
    pub records_in: u64,
    /// Records it emitted.
    pub records_out: u64,
    /// Bytes of the records it was handed.
    pub bytes_in: u64,
    /// Bytes of the records it emitted.
    pub bytes_out: u64,
    /// Invocations of its function (one per batch).
    pub invocations: u64,
    /// Time in its function, ms.
    pub busy_ms: u64,
    /// Time waiting for a full downstream, ms.
    pub backpressured_ms: u64,
    /// Time waiting for input, ms.
    pub idle_ms: u64,
    /// Times it was restarted after a failure.
    pub restarts: u64,
    /// Its last invocation's exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_code: Option<i32>,
    /// The CPU its last batch ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<usize>,
    /// The CPU it is pinned to (the stage's `cpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_cpu: Option<usize>,
    /// The thread its last batch ran on (its placement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The latency of the hop into this replica (from the upstream's send
    /// to this replica's receive, queueing included), median, in us.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_p50_us: Option<f64>,
    /// The same, 99th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_p99_us: Option<f64>,
}

impl ReplicaStats {
    /// Fresh counters.
    pub(crate) fn new() -> Self {
        ReplicaStats {
            last_exit_code: AtomicI64::new(i64::MIN),
            cpu: AtomicI64::new(-1),
            pinned: AtomicI64::new(-1),
            ..Default::default()
        }
    }

    pub(crate) fn received(&self, records: usize, bytes: usize) {
        self.records_in.fetch_add(records as u64, Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn emitted(&self, records: usize, bytes: usize) {
        self.records_out.fetch_add(records as u64, Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn invoked(&self, took: Duration, exit_code: i32) {
        self.invocations.fetch_add(1, Relaxed);
        self.busy_ns.fetch_add(nanos(took), Relaxed);
        self.last_exit_code.store(i64::from(exit_code), Relaxed);
        self.cpu.store(super::pinned::current_cpu() as i64, Relaxed);
        let name = std::thread::current().name().map_or_else(
            || format!("{:?}", std::thread::current().id()),
            str::to_owned,
        );
        let mut thread = self.thread.lock().expect("stats lock");
        if thread.as_deref() != Some(name.as_str()) {
            *thread = Some(name);
        }
    }

    pub(crate) fn backpressured(&self, took: Duration) {
        self.backpressured_ns.fetch_add(nanos(took), Relaxed);
    }

    pub(crate) fn idle(&self, took: Duration) {
        self.idle_ns.fetch_add(nanos(took), Relaxed);
    }

    pub(crate) fn hop(&self, took: Duration) {
        let mut hops = self.hops.lock().expect("stats lock");
        let histogram = hops.get_or_insert_with(|| {
            Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
        });
        histogram.saturating_record(nanos(took).max(1));
    }

    /// Records that its thread is pinned to `cpu`.
    pub(crate) fn pinned_to(&self, cpu: usize) {
        self.pinned.store(cpu as i64, Relaxed);
    }

    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Relaxed);
    }

    /// The counters now, for replica `replica` in state `status`.
    pub(crate) fn report(&self, replica: usize, status: &'static str) -> ReplicaReport {
        let ms = |ns: &AtomicU64| ns.load(Relaxed) / 1_000_000;
        let exit = self.last_exit_code.load(Relaxed);
        ReplicaReport {
            replica,
            status,
            records_in: self.records_in.load(Relaxed),
            records_out: self.records_out.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            invocations: self.invocations.load(Relaxed),
            busy_ms: ms(&self.busy_ns),
            backpressured_ms: ms(&self.backpressured_ns),
            idle_ms: ms(&self.idle_ns),
            restarts: self.restarts.load(Relaxed),
            last_exit_code: (exit != i64::MIN).then_some(exit as i32),
            cpu: usize::try_from(self.cpu.load(Relaxed)).ok(),
            pinned_cpu: usize::try_from(self.pinned.load(Relaxed)).ok(),
            thread: self.thread.lock().expect("stats lock").clone(),
            hop_p50_us: self.hop_quantile_us(0.5),
            hop_p99_us: self.hop_quantile_us(0.99),
        }
    }

    fn hop_quantile_us(&self, quantile: f64) -> Option<f64> {
        let hops = self.hops.lock().expect("stats lock");
        hops.as_ref()
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(quantile) as f64 / 1000.0)
    }
}

fn nanos(took: Duration) -> u64 {
    u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)
}
