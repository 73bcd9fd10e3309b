//! Pipelines: stages of functions connected by in-process pipes, like a
//! shell pipeline. The spec is parsed here ([`PipelineSpec`]); the run is
//! [`crate::Runtime::prepare_pipeline`] and [`PreparedPipeline::run`].

mod manage;
mod result;
mod run;
mod spec;

pub use result::{PipelineInfo, PipelineResult, StageResult};
pub use run::PreparedPipeline;
pub use spec::{PipelineSpec, StageSpec};
