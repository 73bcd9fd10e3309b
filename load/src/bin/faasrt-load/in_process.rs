//! `faasrt-load run --in-process`: the faasrt runtime inside the injector,
//! as a library (in memory, no server, no HTTP), each sending thread
//! invoking it directly; and `--null-target`, which invokes nothing.

use anyhow::Context;
use bytes::Bytes;
use faasrt_load::{Answer, Target, TraceIds};
use faasrt_runtime::{DeployOptions, InvokeRequest, Runtime, RuntimeConfig, RuntimeError};
use std::path::PathBuf;
use std::sync::Arc;

/// A function to deploy into the in-process runtime: `NAME=FILE.wasm`.
#[derive(Clone, Debug)]
pub(super) struct ModuleArg {
    name: String,
    file: PathBuf,
}

impl std::str::FromStr for ModuleArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, file) = text
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=FILE.wasm, got {text:?}"))?;
        Ok(ModuleArg {
            name: name.to_owned(),
            file: file.into(),
        })
    }
}

/// Opens an in-memory runtime and deploys `modules` into it.
pub(super) fn open_runtime(modules: &[ModuleArg]) -> anyhow::Result<Runtime> {
    anyhow::ensure!(
        !modules.is_empty(),
        "--in-process needs the functions to run: --module NAME=FILE.wasm (repeatable)"
    );
    let runtime = Runtime::open(RuntimeConfig::in_memory()).context("cannot open the runtime")?;
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for module in modules {
        let bytes = std::fs::read(&module.file)
            .with_context(|| format!("cannot read {}", module.file.display()))?;
        io.block_on(runtime.deploy(&module.name, Bytes::from(bytes), DeployOptions::default()))
            .with_context(|| {
                format!(
                    "cannot deploy {} from {}",
                    module.name,
                    module.file.display()
                )
            })?;
    }
    Ok(runtime)
}

/// The runtime as a target: each invocation is a call of
/// [`Runtime::invoke`] on the sending thread.
pub(super) struct RuntimeTarget {
    pub(super) runtime: Runtime,
    /// The run's functions, by index.
    pub(super) functions: Vec<Arc<str>>,
}

impl Target for RuntimeTarget {
    async fn invoke(&self, function: usize, input: Bytes, trace: TraceIds) -> Answer {
        let request = InvokeRequest {
            input,
            trace: faasrt_runtime::TraceContext::parse(&trace.traceparent()),
            ..InvokeRequest::default()
        };
        match self
            .runtime
            .invoke(&self.functions[function], request)
            .await
        {
            Ok(invocation) if invocation.status.is_success() => {
                Answer::ok(invocation.output.len() as u64)
            }
            Ok(invocation) => Answer {
                // What `faasrt serve` answers for a function that failed.
                status: if matches!(
                    invocation.status,
                    faasrt_runtime::InvocationStatus::TimedOut { .. }
                ) {
                    504
                } else {
                    502
                },
                response_bytes: invocation.output.len() as u64,
                error: invocation.status.failure_message(),
            },
            Err(error) => Answer {
                status: status_of(&error),
                response_bytes: 0,
                error: Some(error.to_string()),
            },
        }
    }
}

/// The status `faasrt serve` answers a refused invocation with.
fn status_of(error: &RuntimeError) -> u16 {
    match error {
        RuntimeError::Busy { .. } | RuntimeError::FunctionBusy { .. } => 429,
        RuntimeError::NotFound { .. } => 404,
        RuntimeError::TooLarge { .. } => 413,
        RuntimeError::Preparing { .. } => 503,
        _ => 500,
    }
}
