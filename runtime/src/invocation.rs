//! What an invocation asks for and how it ended.

use bytes::Bytes;
use faasrt_host_api::{Faasin, PipeWriter};
use std::time::Duration;

/// The input of one invocation.
#[derive(Clone, Debug, Default)]
pub struct InvokeRequest {
    /// Arguments after the function name (and after the args set at deploy).
    pub args: Vec<String>,
    /// The bytes the function reads from `faasin`.
    pub input: Bytes,
    /// When set, run only the function deployed with this digest: a stream
    /// pins the versions it was created with, and a redeploy between two of
    /// its invocations is refused ([`crate::RuntimeError::DigestChanged`])
    /// instead of silently running other code.
    pub digest: Option<String>,
    /// Whether the invocation may use its function's key-value state.
    pub kv: KvUse,
    /// The caller's W3C trace context, kept in the journal's record.
    pub trace: Option<crate::TraceContext>,
}

/// Whether an invocation may use its function's key-value state
/// (`faasrt::kv_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvUse {
    /// It reads its function's state and, if it succeeds, its writes are
    /// committed before its result is returned.
    #[default]
    Function,
    /// It has none: every `kv_*` call fails with `KV_ERR_UNAVAILABLE` and
    /// a line on the log. A stream stage runs so: its state is the
    /// stream's, kept through the records API.
    Refused,
}

/// What one invocation runs with.
pub(crate) struct RunRequest {
    /// The arguments, the function's name first.
    pub args: Vec<String>,
    /// What fd 0 reads.
    pub input: Faasin,
    /// Where fd 1 goes: `None` captures it (up to the output limit) into the
    /// returned [`Invocation`]; a pipe streams it to the next stage.
    pub output: Option<PipeWriter>,
    /// Its memory limit in bytes.
    pub memory_limit: usize,
    /// Its time limit.
    pub timeout: Duration,
    /// Whether it may use its function's key-value state.
    pub kv: KvUse,
}

/// How an invocation or pipeline stage ended, without the details;
/// serialized as its [`Outcome::label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exited with status 0.
    Ok,
    /// Exited with another status.
    Exit,
    /// Trapped (or could not start).
    Trap,
    /// Ran past its timeout.
    Timeout,
    /// Wrote past its output limit.
    OutputTooLarge,
}

impl Outcome {
    /// `ok`, `exit`, `trap`, `timeout` or `output_too_large`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Exit => "exit",
            Outcome::Trap => "trap",
            Outcome::Timeout => "timeout",
            Outcome::OutputTooLarge => "output_too_large",
        }
    }
}

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvocationStatus {
    /// `_start` returned (status 0) or the function called `proc_exit`.
    Exited(i32),
    /// The function trapped (unreachable, out-of-bounds access, stack
    /// overflow, ...).
    Trapped {
        /// The trap in one line.
        message: String,
        /// The full error with the wasm backtrace, for logs.
        detail: String,
    },
    /// The function ran past its timeout and was stopped.
    TimedOut {
        /// The timeout, in ms.
        limit_ms: u64,
    },
    /// The function wrote more to `faasout` (or to its log) than allowed
    /// and was stopped.
    OutputTooLarge {
        /// The output limit, in bytes.
        limit: usize,
    },
}

/// Exit code reported for a trap (128 + SIGABRT, as a shell shows an abort).
pub const EXIT_CODE_TRAP: i32 = 134;
/// Exit code reported for a timeout (as coreutils `timeout` does).
pub const EXIT_CODE_TIMEOUT: i32 = 124;
/// Exit code reported when the output exceeded its limit (128 + SIGXFSZ).
pub const EXIT_CODE_OUTPUT_TOO_LARGE: i32 = 153;

impl InvocationStatus {
    /// The exit code, with the conventional codes above for endings that
    /// are not an exit.
    pub fn exit_code(&self) -> i32 {
        match self {
            InvocationStatus::Exited(code) => *code,
            InvocationStatus::Trapped { .. } => EXIT_CODE_TRAP,
            InvocationStatus::TimedOut { .. } => EXIT_CODE_TIMEOUT,
            InvocationStatus::OutputTooLarge { .. } => EXIT_CODE_OUTPUT_TOO_LARGE,
        }
    }

    /// Whether the function succeeded (exited with 0).
    pub fn is_success(&self) -> bool {
        *self == InvocationStatus::Exited(0)
    }

    /// How it ended, as a kind without the details.
    pub fn outcome(&self) -> Outcome {
        match self {
            InvocationStatus::Exited(0) => Outcome::Ok,
            InvocationStatus::Exited(_) => Outcome::Exit,
            InvocationStatus::Trapped { .. } => Outcome::Trap,
            InvocationStatus::TimedOut { .. } => Outcome::Timeout,
            InvocationStatus::OutputTooLarge { .. } => Outcome::OutputTooLarge,
        }
    }

    /// A stable label for metrics and error codes: `ok`, `exit`, `trap`,
    /// `timeout`, `output_too_large`.
    pub fn label(&self) -> &'static str {
        self.outcome().label()
    }

    /// One line that says how the invocation failed, or `None` on success.
    pub fn failure_message(&self) -> Option<String> {
        match self {
            InvocationStatus::Exited(0) => None,
            InvocationStatus::Exited(code) => Some(format!("function exited with status {code}")),
            InvocationStatus::Trapped { message, .. } => {
                Some(format!("function trapped: {message}"))
            }
            InvocationStatus::TimedOut { limit_ms } => {
                Some(format!("function exceeded its timeout of {limit_ms} ms"))
            }
            InvocationStatus::OutputTooLarge { limit } => Some(format!(
                "function output (faasout or log) exceeded its limit of {limit} bytes"
            )),
        }
    }
}

/// The result of one invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// How it ended.
    pub status: InvocationStatus,
    /// What it wrote to `faasout` (up to the point it ended).
    pub output: Bytes,
    /// The end of its log.
    pub log_tail: String,
    /// Wall time from instantiation to the end.
    pub duration: Duration,
    /// What it used, as far as this machine can tell.
    pub usage: InvocationUsage,
    /// Its number in the runtime's journal (`GET /v1/invocations`'s
    /// `seq`); 0 for a pipeline stage or before it is recorded.
    pub seq: u64,
}

/// What one invocation used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvocationUsage {
    /// From when it began to run to when its instance (wasm) or process
    /// (native) was ready to run its code.
    pub ready_after: Duration,
    /// CPU time: for wasm, the time its guest ran on a thread (every poll
    /// of it, on the monotonic clock: it includes time the kernel took the
    /// thread away); for native, the user and system time the kernel
    /// accounted to its process and the children it reaped. `None` when
    /// not measured (the process could not be waited for).
    pub cpu: Option<Duration>,
    /// The most memory it held: for wasm, exactly its linear memory's
    /// largest size; for native, the peak resident set of its process
    /// (`ru_maxrss`). `None` when not measured.
    pub peak_memory_bytes: Option<u64>,
    /// What the hardware counters counted (`hw_counters.rs`), when they
    /// are on and this machine allows them.
    pub hw: Option<crate::HwCounts>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exit_zero_is_success() {
        assert!(InvocationStatus::Exited(0).is_success());
        assert!(!InvocationStatus::Exited(1).is_success());
        assert!(!InvocationStatus::TimedOut { limit_ms: 1 }.is_success());
        assert_eq!(InvocationStatus::Exited(0).failure_message(), None);
    }

    #[test]
    fn non_exit_endings_have_conventional_codes() {
        let trap = InvocationStatus::Trapped {
            message: "unreachable".into(),
            detail: String::new(),
        };
        assert_eq!(trap.exit_code(), EXIT_CODE_TRAP);
        assert_eq!(InvocationStatus::TimedOut { limit_ms: 5 }.exit_code(), 124);
        assert_eq!(InvocationStatus::Exited(3).exit_code(), 3);
    }
}
