//! What a stream shares between its supervisor, its runs and the API:
//! its phase, its last failure, its counters and its last checkpoint
//! (which readers of the output log wait on).

use super::stats::ReplicaStats;
use crate::spec::StreamSpec;
use crate::store::Checkpoint;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Where a stream is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Taking its final checkpoint.
    Draining,
    /// Waiting to restart after a failure.
    Restarting,
    /// Stopped by too many failures, or one that restarting cannot mend.
    Failed,
    /// Stopped or drained.
    Stopped,
}

impl Phase {
    /// The phase's name in the API.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Running => "running",
            Phase::Draining => "draining",
            Phase::Restarting => "restarting",
            Phase::Failed => "failed",
            Phase::Stopped => "stopped",
        }
    }
}

/// The last failure of a stream, as the status shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    /// What happened.
    pub message: String,
    /// The stage, when a replica failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<usize>,
    /// The replica, when one failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<usize>,
    /// The function's exit code, when an invocation ended badly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// The live part of one stream.
pub(crate) struct Shared {
    phase: Mutex<Phase>,
    failure: Mutex<Option<FailureReport>>,
    restarts: AtomicU64,
    commits: AtomicU64,
    last_commit: Mutex<Option<Duration>>,
    stats: Mutex<Vec<Vec<Arc<ReplicaStats>>>>,
    processed: Mutex<Vec<Arc<AtomicU64>>>,
    pub source_stats: Arc<ReplicaStats>,
    committed: watch::Sender<Checkpoint>,
    /// Notified on every append to the input log.
    pub appended: Arc<Notify>,
}

impl Shared {
    /// The live part of a stream in `phase`, last committed at `checkpoint`.
    pub(crate) fn new(phase: Phase, checkpoint: Checkpoint) -> Self {
        Shared {
            phase: Mutex::new(phase),
            failure: Mutex::new(None),
            restarts: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            last_commit: Mutex::new(None),
            stats: Mutex::new(Vec::new()),
            processed: Mutex::new(Vec::new()),
            source_stats: Arc::new(ReplicaStats::new()),
            committed: watch::channel(checkpoint).0,
            appended: Arc::new(Notify::new()),
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        *self.phase.lock().expect("phase lock")
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("phase lock") = phase;
    }

    pub(crate) fn failure(&self) -> Option<FailureReport> {
        self.failure.lock().expect("failure lock").clone()
    }

    pub(crate) fn set_failure(&self, failure: Option<FailureReport>) {
        *self.failure.lock().expect("failure lock") = failure;
    }

    pub(crate) fn restarted(&self) -> u64 {
        self.restarts.fetch_add(1, Relaxed) + 1
    }

    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Relaxed)
    }

    /// Publishes a committed checkpoint, which wakes readers of the output.
    pub(crate) fn committed(&self, checkpoint: Checkpoint, took: Duration) {
        self.commits.fetch_add(1, Relaxed);
        *self.last_commit.lock().expect("commit lock") = Some(took);
        self.committed.send_replace(checkpoint);
    }

    /// Commits since the server started, and how long the last one took.
    pub(crate) fn commits(&self) -> (u64, Option<Duration>) {
        (
            self.commits.load(Relaxed),
            *self.last_commit.lock().expect("commit lock"),
        )
    }

    /// The last committed checkpoint.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        self.committed.borrow().clone()
    }

    /// A receiver that sees each new checkpoint.
    pub(crate) fn watch(&self) -> watch::Receiver<Checkpoint> {
        self.committed.subscribe()
    }

    /// The replicas' counters for `spec`'s replica counts, kept from
    /// earlier runs where a replica existed before.
    pub(crate) fn stats_for(&self, spec: &StreamSpec) -> Vec<Vec<Arc<ReplicaStats>>> {
        let mut stats = self.stats.lock().expect("stats lock");
        stats.resize_with(spec.stages.len(), Vec::new);
        for (stage, replicas) in spec.stages.iter().zip(stats.iter_mut()) {
            replicas.resize_with(stage.replicas as usize, || Arc::new(ReplicaStats::new()));
        }
        stats.clone()
    }

    /// The current counters (as sized by the last run).
    pub(crate) fn stats(&self) -> Vec<Vec<Arc<ReplicaStats>>> {
        self.stats.lock().expect("stats lock").clone()
    }

    /// Per stage, records handed to it over every run.
    pub(crate) fn processed_for(&self, stages: usize) -> Vec<Arc<AtomicU64>> {
        let mut processed = self.processed.lock().expect("processed lock");
        processed.resize_with(stages, || Arc::new(AtomicU64::new(0)));
        processed.clone()
    }
}
