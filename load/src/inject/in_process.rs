//! The in-process target (`faasrt-load run --in-process`): the faasrt
//! runtime inside the injector, as a library (in memory, no server, no
//! HTTP), each sending thread invoking it directly.

use super::{Answer, Target, TraceIds};
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, InvokeRequest, Runtime, RuntimeConfig, RuntimeError};
use std::path::PathBuf;
use std::sync::Arc;

/// A function to deploy into the in-process runtime: `NAME=FILE.wasm`.
#[derive(Clone, Debug)]
pub struct ModuleArg {
    /// Its name.
    pub name: String,
    /// Its wasm file.
    pub file: PathBuf,
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

/// Why the in-process runtime could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InProcessError {
    /// No function was given.
    #[error("--in-process needs the functions to run: --module NAME=FILE.wasm (repeatable)")]
    NoModules,
    /// A module file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime refused to open or to deploy.
    #[error("{what}: {source}")]
    Runtime {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: RuntimeError,
    },
    /// No async runtime for the deploys.
    #[error("cannot start the deploys' async runtime: {0}")]
    Io(std::io::Error),
}

/// Opens an in-memory runtime and deploys `modules` into it.
///
/// # Errors
/// [`InProcessError`].
pub fn open_runtime(modules: &[ModuleArg]) -> Result<Runtime, InProcessError> {
    if modules.is_empty() {
        return Err(InProcessError::NoModules);
    }
    let runtime =
        Runtime::open(RuntimeConfig::in_memory()).map_err(|source| InProcessError::Runtime {
            what: "cannot open the runtime".into(),
            source,
        })?;
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(InProcessError::Io)?;
    for module in modules {
        let bytes = std::fs::read(&module.file).map_err(|source| InProcessError::Read {
            path: module.file.display().to_string(),
            source,
        })?;
        io.block_on(runtime.deploy(&module.name, Bytes::from(bytes), DeployOptions::default()))
            .map_err(|source| InProcessError::Runtime {
                what: format!(
                    "cannot deploy {} from {}",
                    module.name,
                    module.file.display()
                ),
                source,
            })?;
    }
    Ok(runtime)
}

/// The runtime as a target: each invocation is a call of
/// [`Runtime::invoke`] on the sending thread.
pub struct RuntimeTarget {
    /// The runtime.
    pub runtime: Runtime,
    /// The run's functions, by index.
    pub functions: Vec<Arc<str>>,
}

impl Target for RuntimeTarget {
    async fn invoke(&self, function: usize, input: Bytes, trace: TraceIds) -> Answer {
        self.invoke_with_args(function, Vec::new(), input, trace)
            .await
    }

    async fn invoke_with_args(
        &self,
        function: usize,
        args: Vec<String>,
        input: Bytes,
        trace: TraceIds,
    ) -> Answer {
        let request = InvokeRequest {
            args,
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
