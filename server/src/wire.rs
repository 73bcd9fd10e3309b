//! The names and shapes on the wire that clients read: the headers of an
//! invoke answer, the trailers of a pipeline answer and what they carry.
//! The CLI's client reads these same constants.

/// Header carrying the function's exit code on an invoke answer.
pub const EXIT_CODE_HEADER: &str = "x-faasrt-exit-code";
/// Header carrying the invocation's duration in microseconds.
pub const DURATION_HEADER: &str = "x-faasrt-duration-us";

/// Header carrying the invocation's number in the journal
/// (`GET /v1/invocations`'s `seq`; `GET /v1/functions/{name}/logs?invocation=`).
pub const INVOCATION_HEADER: &str = "x-faasrt-invocation";

/// Header of a stream log read: the offset to read from next.
pub const NEXT_OFFSET_HEADER: &str = "x-faasrt-next-offset";
/// Header of a stream output read: the committed output log's length.
pub const OUTPUT_END_HEADER: &str = "x-faasrt-output-end";

/// Trailer with every stage's exit code, space-separated (bash `PIPESTATUS`).
pub const PIPESTATUS_TRAILER: &str = "x-faasrt-pipestatus";
/// Trailer with the pipeline's exit code: the last stage's.
pub const EXIT_CODE_TRAILER: &str = "x-faasrt-exit-code";
/// Trailer with the stages that failed other than by exiting (could not
/// start, trapped, timed out, wrote too much), as a JSON array of
/// `{"stage": N, "function": "...", "message": "..."}` (stages counted
/// from 1, non-ASCII escaped as `\uXXXX`); absent when none did.
pub const STAGE_ERRORS_TRAILER: &str = "x-faasrt-stage-errors";

/// One entry of [`STAGE_ERRORS_TRAILER`]: a stage that failed other than
/// by exiting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct StageError {
    /// Its position, from 1.
    pub stage: usize,
    /// The function it ran.
    pub function: String,
    /// What went wrong.
    pub message: String,
}

/// The caller's W3C trace context: its `traceparent` header, when valid
/// (an invalid one is ignored, as the W3C recommendation says).
pub(crate) fn traceparent(
    request: &hyper::http::request::Parts,
) -> Option<faasrt_runtime::TraceContext> {
    request
        .headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(faasrt_runtime::TraceContext::parse)
}
