//! Where a run's invocations go: a [`Target`] invokes one function with one
//! input and says how it went ([`Answer`]). The HTTP target (`http`) is a
//! faasrt server; [`NullTarget`] answers at once, so a run against it
//! measures what the injector alone can issue.

use super::TraceIds;
use bytes::Bytes;
use std::future::Future;

/// How one invocation went, as the target saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status (or the status an HTTP server would have given);
    /// 0 when there was no answer.
    pub status: u16,
    /// Bytes of answer.
    pub response_bytes: u64,
    /// Why there was no answer, or the error the function or server gave.
    pub error: Option<String>,
}

impl Answer {
    /// A 200 with `response_bytes` of output.
    pub fn ok(response_bytes: u64) -> Self {
        Answer {
            status: 200,
            response_bytes,
            error: None,
        }
    }

    /// No answer, because of `error`.
    pub fn failed(error: String) -> Self {
        Answer {
            status: 0,
            response_bytes: 0,
            error: Some(error),
        }
    }

    /// Whether it succeeded (2xx and no error).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status) && self.error.is_none()
    }
}

/// Where a run's invocations go. A sending thread makes its own target and
/// drives it on its own current-thread async runtime; its invocations run
/// concurrently, each as a task.
pub trait Target: Send + Sync + 'static {
    /// Invokes the run's function number `function` with `input`, as the
    /// invocation `trace` names (an HTTP target sends its `traceparent`).
    fn invoke(
        &self,
        function: usize,
        input: Bytes,
        trace: TraceIds,
    ) -> impl Future<Output = Answer> + Send;

    /// Invokes function `function` with `args` after its name (a dataset
    /// sweep's parameters; over HTTP, `?arg=`). A target that cannot pass
    /// arguments answers a failure that says so, never a run without them.
    fn invoke_with_args(
        &self,
        function: usize,
        args: Vec<String>,
        input: Bytes,
        trace: TraceIds,
    ) -> impl Future<Output = Answer> + Send {
        async move {
            if args.is_empty() {
                self.invoke(function, input, trace).await
            } else {
                Answer::failed("this target cannot pass arguments to a function".into())
            }
        }
    }

    /// Prepares before the run's clock starts (an HTTP target opens up to
    /// `connections` connections).
    fn warm_up(&self, connections: usize) -> impl Future<Output = ()> + Send {
        let _ = connections;
        async {}
    }
}

/// A target that answers every invocation at once with an empty 200: a run
/// against it measures the injector's own cost and the most it can issue.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullTarget;

impl Target for NullTarget {
    async fn invoke(&self, _function: usize, _input: Bytes, _trace: TraceIds) -> Answer {
        Answer::ok(0)
    }

    async fn invoke_with_args(
        &self,
        _function: usize,
        _args: Vec<String>,
        _input: Bytes,
        _trace: TraceIds,
    ) -> Answer {
        Answer::ok(0)
    }
}
