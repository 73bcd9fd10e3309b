//! Running a prepared pipeline: one fiber per stage, pipes between them.

use super::{PipelineResult, PipelineSpec, StageResult};
use crate::engine::RunRequest;
use crate::registry::LoadedFunction;
use crate::runtime::Runtime;
use faasrt_host_api::{Faasin, PipeReader, PipeWriter};
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;

/// A pipeline whose functions are resolved and whose instance slots are
/// reserved: [`PreparedPipeline::run`] cannot fail to start.
pub struct PreparedPipeline {
    runtime: Runtime,
    spec: PipelineSpec,
    functions: Vec<Arc<LoadedFunction>>,
    /// The instance slots and the functions' own concurrency permits of
    /// every stage, held until the run ends.
    _slots: (OwnedSemaphorePermit, Vec<OwnedSemaphorePermit>),
}

impl PreparedPipeline {
    pub(crate) fn new(
        runtime: Runtime,
        spec: PipelineSpec,
        functions: Vec<Arc<LoadedFunction>>,
        slots: (OwnedSemaphorePermit, Vec<OwnedSemaphorePermit>),
    ) -> Self {
        PreparedPipeline {
            runtime,
            spec,
            functions,
            _slots: slots,
        }
    }

    /// The spec being run.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// Runs every stage at once: `input` is the first stage's faasin,
    /// `output` the last stage's faasout, and a pipe of the configured
    /// capacity joins each stage to the next. Returns when every stage has
    /// exited (a stage that exits closes its ends: EOF downstream, a broken
    /// pipe upstream).
    ///
    /// All stages run in the calling task, one fiber each: a byte handed
    /// from one stage to the next wakes nothing on another thread.
    pub async fn run(self, input: PipeReader, output: PipeWriter) -> PipelineResult {
        let inner = &self.runtime.inner;
        let capacity = inner.config.get_pipe_capacity();
        let count = self.spec.stages.len();
        let mut inputs = vec![input];
        let mut outputs = Vec::with_capacity(count);
        for _ in 1..count {
            let (writer, reader) = faasrt_host_api::pipe(capacity);
            outputs.push(writer);
            inputs.push(reader);
        }
        outputs.push(output);
        let started = std::time::Instant::now();
        let runs = self
            .spec
            .stages
            .iter()
            .zip(&self.functions)
            .zip(inputs.into_iter().zip(outputs))
            .map(|((stage, function), (input, output))| {
                let bytes_in = input.counter();
                let bytes_out = output.counter();
                let run = RunRequest {
                    args: std::iter::once(stage.function.clone())
                        .chain(function.info.args.iter().cloned())
                        .chain(stage.args.iter().cloned())
                        .collect(),
                    input: Faasin::Pipe(input),
                    output: Some(output),
                    memory_limit: function.info.limits.memory_bytes(),
                    timeout: function.info.limits.timeout(),
                };
                async move {
                    let invocation = inner.execute(function, run).await;
                    StageResult {
                        function: stage.function.clone(),
                        args: stage.args.clone(),
                        exit_code: invocation.status.exit_code(),
                        outcome: invocation.status.label().to_owned(),
                        message: invocation.status.failure_message(),
                        bytes_in: bytes_in.read(),
                        bytes_out: bytes_out.written(),
                        duration_us: invocation.duration.as_micros() as u64,
                        log_tail: invocation.log_tail,
                    }
                }
            });
        let stages = futures::future::join_all(runs).await;
        for stage in &stages {
            inner
                .metrics
                .record_stage(&stage.function, &stage.outcome, stage.duration_us);
        }
        PipelineResult {
            stages,
            duration_us: started.elapsed().as_micros() as u64,
        }
    }
}
