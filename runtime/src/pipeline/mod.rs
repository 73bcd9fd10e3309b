//! Pipelines: stages of functions connected by in-process pipes, like a
//! shell pipeline. The spec is parsed here ([`PipelineSpec`]); the run is
//! [`crate::Runtime::prepare_pipeline`] and [`PreparedPipeline::run`].
//!
//! Here: the spec and its parser (`spec`), running the stages and the edges
//! between them (`run`), their results (`result`) and named pipelines
//! (`manage`). What must not live here: how one stage runs (`wasm/`,
//! `native/`) and how a result reaches a client (the server's trailers).

mod manage;
mod result;
mod run;
mod spec;

pub use result::{PipelineInfo, PipelineResult, StageResult};
pub use run::PreparedPipeline;
pub use spec::{PipelineSpec, StageSpec};
