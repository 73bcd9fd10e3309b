//! faasrt-streams: long-running pipelines of functions over records, with
//! replicated and keyed stages (docs/streams.md is the design).
//!
//! Here so far: what a stream is ([`StreamSpec`], validated when it is
//! parsed), how records are cut from and written to an edge ([`framing`]),
//! and which replica of a stage a record goes to ([`router`]: slots, the
//! slot table, rescaling that moves as few slots as it must). To come, in
//! their own modules: the epoch-buffered state, sources and sinks, the
//! coordinator with aligned barriers, recovery.
//!
//! What must not live here: how one invocation runs (`faasrt-runtime`), and
//! anything of HTTP (`faasrt-server` maps its routes onto this crate).

pub mod framing;
pub mod router;
mod spec;

pub use spec::{
    DEFAULT_CHECKPOINT_INTERVAL_MS, Framing, KeySpec, MAX_REPLICAS, MAX_STAGES,
    MIN_CHECKPOINT_INTERVAL_MS, SpecError, StageSpec, StreamSpec,
};
