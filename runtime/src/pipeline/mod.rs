//! Pipelines: stages of functions connected by in-process pipes, like a
//! shell pipeline. The spec is parsed here ([`PipelineSpec`]); the run is
//! [`crate::Runtime::run_pipeline`].

mod result;
mod spec;

pub use result::{PipelineResult, StageResult};
pub use spec::{PipelineSpec, StageSpec};
