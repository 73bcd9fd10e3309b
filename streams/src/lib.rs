//! faasrt-streams: long-running pipelines of functions over records, with
//! replicated and keyed stages, exactly-once state and output through
//! aligned checkpoints, recovery and live rescaling (docs/streams.md is the
//! design and the user's guide).
//!
//! [`Streams`] is the API (`faasrt-server` routes `/v1/streams` to it).
//! Underneath: what a stream is ([`StreamSpec`]), how records are cut
//! ([`framing`]) and routed ([`router`]), how a record-API stage is handed
//! its batch and its state ([`protocol`]), the streams' own database
//! ([`store`]), faults on purpose ([`faults`]), and the running engine
//! (`engine`: supervisor, run, source, replicas, sink).
//!
//! What must not live here: how one invocation runs (`faasrt-runtime`), and
//! anything of HTTP.

pub mod batch;
mod engine;
mod error;
pub mod faults;
pub mod framing;
pub mod protocol;
pub mod router;
mod spec;
mod status;
pub mod store;
mod streams;

pub use engine::change::{Rescaled, Upgraded};
pub use engine::stats::ReplicaReport;
pub use engine::status::{FailureReport, Phase};
pub use engine::supervisor::{FAILURE_WINDOW, MAX_FAILURES, RestartPolicy};
pub use error::StreamError;
pub use spec::{
    DEFAULT_BATCH_RECORDS, DEFAULT_CHECKPOINT_INTERVAL_MS, Framing, KeySpec, MAX_BATCH_RECORDS,
    MAX_REPLICAS, MAX_STAGES, MIN_CHECKPOINT_INTERVAL_MS, SourceSpec, SpecError, StageSpec,
    StreamSpec,
};
pub use status::{
    AppendAck, CheckpointReport, InputReport, OutputChunk, StageReport, StreamStatus,
};
pub use streams::{MAX_OUTPUT_RECORDS, SETTLE_TIMEOUT, SOURCE_DIR, Streams};
