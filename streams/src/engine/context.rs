//! What every task of one run of a stream shares.

use super::messages::Report;
use super::stats::ReplicaStats;
use crate::faults::FaultInjector;
use crate::spec::StreamSpec;
use crate::store::StreamStore;
use faasrt_runtime::Runtime;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::sync::{Notify, mpsc};

/// The shared part of one run.
pub(crate) struct RunContext {
    /// The stream's name.
    pub name: String,
    /// What invokes the functions.
    pub runtime: Runtime,
    /// Where state, logs and checkpoints live.
    pub store: Arc<StreamStore>,
    /// The spec this run runs (replica counts as of this run).
    pub spec: StreamSpec,
    /// Each stage's pinned function digest.
    pub digests: Vec<String>,
    /// Where tasks report.
    pub reports: mpsc::UnboundedSender<Report>,
    /// Faults to inject, if any.
    pub faults: Option<Arc<dyn FaultInjector>>,
    /// Per stage, records handed to it over every run (what faults count).
    pub processed: Vec<Arc<AtomicU64>>,
    /// Per stage, per replica, its counters (kept across runs).
    pub stats: Vec<Vec<Arc<ReplicaStats>>>,
    /// The source's counters.
    pub source_stats: Arc<ReplicaStats>,
    /// Notified when records are appended to the input log.
    pub appended: Arc<Notify>,
    /// The largest record accepted on an edge.
    pub max_record_bytes: usize,
}
