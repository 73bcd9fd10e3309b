//! What the API answers about streams: a stream's status, an append's
//! acknowledgement, a read of the output log.

use crate::engine::stats::ReplicaReport;
use crate::engine::status::{FailureReport, Phase, Shared};
use crate::framing::Record;
use crate::spec::StreamSpec;
use crate::store::StoredStream;
use serde::Serialize;

/// A stream's status: `GET /v1/streams/{name}`.
#[derive(Clone, Debug, Serialize)]
pub struct StreamStatus {
    /// Its name.
    pub name: String,
    /// `created`, `running`, `draining`, `restarting`, `failed`, `stopped`.
    pub state: &'static str,
    /// Its spec (replica counts as of now).
    pub spec: StreamSpec,
    /// Each stage's pinned function digest.
    pub digests: Vec<String>,
    /// When it was created.
    pub created_at: String,
    /// Its last failure, if any (the cause, for a `failed` stream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureReport>,
    /// Times the stream rolled back and restarted since the server started.
    pub restarts: u64,
    /// The last committed checkpoint.
    pub checkpoint: CheckpointReport,
    /// The input log.
    pub input: InputReport,
    /// Per stage, its replicas.
    pub stages: Vec<StageReport>,
}

/// The checkpoint part of a status.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointReport {
    /// The last committed epoch (0: none yet).
    pub epoch: u64,
    /// The input offset the next epoch starts at.
    pub source_offset: u64,
    /// The committed output log's length.
    pub output_end: u64,
    /// Commits since the server started.
    pub commits: u64,
    /// How long the last commit took, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit_us: Option<u64>,
}

/// The input part of a status.
#[derive(Clone, Debug, Serialize)]
pub struct InputReport {
    /// The input log's next offset.
    pub end: u64,
    /// Records in the log not yet covered by a checkpoint.
    pub lag: u64,
    /// Records the source has sent since the server started (replays
    /// included).
    pub records_read: u64,
}

/// One stage in a status.
#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    /// Counted from 0.
    pub index: usize,
    /// Its function.
    pub function: String,
    /// Whether it is keyed.
    pub keyed: bool,
    /// Its replicas.
    pub replicas: Vec<ReplicaReport>,
}

impl StreamStatus {
    pub(crate) fn new(name: &str, stored: &StoredStream, shared: &Shared, input_end: u64) -> Self {
        let phase = shared.phase();
        let replica_status = match phase {
            Phase::Running | Phase::Draining => "running",
            Phase::Restarting => "restarting",
            Phase::Failed => "failed",
            Phase::Created | Phase::Stopped => "stopped",
        };
        let checkpoint = shared.checkpoint();
        let (commits, last_commit) = shared.commits();
        let stats = shared.stats();
        let stages = stored
            .spec
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| StageReport {
                index,
                function: stage.function.clone(),
                keyed: stage.key.is_some(),
                replicas: (0..stage.replicas as usize)
                    .map(
                        |replica| match stats.get(index).and_then(|s| s.get(replica)) {
                            Some(stats) => stats.report(replica, replica_status),
                            None => crate::engine::stats::ReplicaStats::new()
                                .report(replica, replica_status),
                        },
                    )
                    .collect(),
            })
            .collect();
        StreamStatus {
            name: name.to_owned(),
            state: phase.label(),
            spec: stored.spec.clone(),
            digests: stored.digests.clone(),
            created_at: stored.created_at.clone(),
            failure: shared.failure(),
            restarts: shared.restarts(),
            checkpoint: CheckpointReport {
                epoch: checkpoint.epoch,
                source_offset: checkpoint.source_offset,
                output_end: checkpoint.output_end,
                commits,
                last_commit_us: last_commit.map(|d| d.as_micros() as u64),
            },
            input: InputReport {
                end: input_end,
                lag: input_end.saturating_sub(checkpoint.source_offset),
                records_read: shared.source_stats.report(0, "").records_in,
            },
            stages,
        }
    }
}

/// The answer to an append: `POST /v1/streams/{name}/records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppendAck {
    /// The offset of the first record appended.
    pub first_offset: u64,
    /// The log's next offset after them.
    pub next_offset: u64,
    /// How many were appended.
    pub records: u64,
}

/// A read of the output log: `GET /v1/streams/{name}/output`.
#[derive(Clone, Debug)]
pub struct OutputChunk {
    /// The offset asked for.
    pub from: u64,
    /// The offset to ask for next.
    pub next: u64,
    /// The committed log's length.
    pub end: u64,
    /// The records, with their offsets.
    pub records: Vec<Record>,
}
