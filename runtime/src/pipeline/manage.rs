//! The pipeline side of [`Runtime`]: named pipelines in the store, and
//! preparing a run (functions resolved, slots and permits reserved).

use super::{PipelineInfo, PipelineResult, PipelineSpec, PreparedPipeline};
use crate::error::RuntimeError;
use crate::name::FunctionName;
use crate::runtime::Runtime;
use faasrt_host_api::{PipeReader, PipeWriter};
use std::time::SystemTime;

impl Runtime {
    /// Stores `spec` as the named pipeline `name` (replacing one of that
    /// name). Its functions are looked up when it runs, not now: a pipeline
    /// may be stored before its functions are deployed.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::Store`].
    pub async fn put_pipeline(
        &self,
        name: &str,
        spec: PipelineSpec,
    ) -> Result<PipelineInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let info = PipelineInfo {
            name: name.to_string(),
            spec: spec.to_shell(),
            stages: spec.stages,
            created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        };
        let inner = self.inner.clone();
        let record = info.clone();
        self.inner
            .blocking(move || inner.store.put_pipeline(&record))
            .await??;
        Ok(info)
    }

    /// The named pipeline `name`.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::PipelineNotFound`].
    pub fn get_pipeline(&self, name: &str) -> Result<PipelineInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        self.inner
            .store
            .pipeline(name.as_str())?
            .ok_or_else(|| RuntimeError::PipelineNotFound {
                name: name.to_string(),
            })
    }

    /// Every named pipeline, in name order.
    ///
    /// # Errors
    /// [`RuntimeError::Store`].
    pub fn list_pipelines(&self) -> Result<Vec<PipelineInfo>, RuntimeError> {
        self.inner.store.pipelines()
    }

    /// Deletes the named pipeline `name`.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::PipelineNotFound`].
    pub async fn remove_pipeline(&self, name: &str) -> Result<PipelineInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let inner = self.inner.clone();
        let key = name.to_string();
        self.inner
            .blocking(move || inner.store.remove_pipeline(&key))
            .await??
            .ok_or_else(|| RuntimeError::PipelineNotFound {
                name: name.to_string(),
            })
    }

    /// Runs `spec` with `input` as the first stage's faasin and `output` as
    /// the last stage's faasout: [`Runtime::prepare_pipeline`], then
    /// [`PreparedPipeline::run`].
    ///
    /// # Errors
    /// Those of [`Runtime::prepare_pipeline`]; nothing runs then.
    pub async fn run_pipeline(
        &self,
        spec: &PipelineSpec,
        input: PipeReader,
        output: PipeWriter,
    ) -> Result<PipelineResult, RuntimeError> {
        Ok(self.prepare_pipeline(spec)?.run(input, output).await)
    }

    /// Checks `spec` against the deployed functions and reserves an
    /// instance slot for each stage, so that running it cannot fail.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidPipeline`] when a stage names a function that
    /// is not deployed; [`RuntimeError::Busy`] when there are not enough free
    /// instance slots for every stage.
    pub fn prepare_pipeline(&self, spec: &PipelineSpec) -> Result<PreparedPipeline, RuntimeError> {
        let mut functions = Vec::with_capacity(spec.stages.len());
        let mut admitted = Vec::new();
        for (i, stage) in spec.stages.iter().enumerate() {
            let function = match self.inner.registry.lookup(&stage.function) {
                Ok(function) => function,
                Err(RuntimeError::NotFound { .. }) => {
                    return Err(RuntimeError::InvalidPipeline {
                        reason: format!(
                            "stage {}: function {:?} is not deployed",
                            i + 1,
                            stage.function
                        ),
                    });
                }
                Err(error) => return Err(error),
            };
            admitted.extend(
                function
                    .admit()
                    .inspect_err(|_| self.inner.platform.counters.rejected())?,
            );
            functions.push(function);
        }
        let slots = self
            .inner
            .slots
            .clone()
            .try_acquire_many_owned(spec.stages.len() as u32)
            .map_err(|_| {
                self.inner.platform.counters.rejected();
                RuntimeError::Busy {
                    limit: self.inner.config.get_max_instances(),
                }
            })?;
        Ok(PreparedPipeline::new(
            self.clone(),
            spec.clone(),
            functions,
            (slots, admitted),
        ))
    }
}
