//! What travels on a running stream's edges ([`Message`]), and what its
//! tasks tell the coordinator ([`Report`]).

use crate::batch::Batch;
use crate::store::StateChange;

/// One message on an edge. Barriers and the end of the stream are the
/// host's: they travel beside the records and never reach a guest.
#[derive(Debug)]
pub(crate) enum Message {
    /// Records, in order, and when they were handed to the edge (each
    /// receiver records the hop's latency).
    Records(Batch, std::time::Instant),
    /// Everything before this belongs to epoch `.0` or earlier.
    Barrier(u64),
    /// Nothing follows (after a final barrier).
    End,
}

/// How a replica failed.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// What happened, naming the stage and function.
    pub message: String,
    /// The function's exit code, when an invocation ended badly.
    pub exit_code: Option<i32>,
    /// Whether restarting cannot help (the function is gone or was
    /// redeployed): the stream fails at once.
    pub permanent: bool,
}

/// What a task tells the coordinator.
#[derive(Debug)]
pub(crate) enum Report {
    /// The source put barrier `epoch` after the record before `offset`.
    SourceBarrier {
        /// The epoch the barrier closes.
        epoch: u64,
        /// The input offset the next epoch starts at.
        offset: u64,
    },
    /// A keyed replica's state changes of `epoch`, sent when it passes the
    /// barrier on.
    Snapshot {
        /// The epoch.
        epoch: u64,
        /// Its changes, each key once.
        changes: Vec<StateChange>,
    },
    /// The sink has seen barrier `epoch` from every upstream: the epoch is
    /// complete, and this is its output.
    EpochOutput {
        /// The epoch.
        epoch: u64,
        /// The records it wrote, in order.
        records: Batch,
    },
    /// A replica failed.
    Failed {
        /// Its stage, counted from 0.
        stage: usize,
        /// Its index.
        replica: usize,
        /// How.
        failure: Failure,
    },
    /// The sink has seen the end of the stream from every upstream.
    Ended,
}
