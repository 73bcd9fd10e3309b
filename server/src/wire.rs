//! The names and shapes on the wire that clients read: the headers of an
//! invoke answer, the trailers of a pipeline answer and what they carry.
//! The CLI's client reads these same constants.

/// Header carrying the function's exit code on an invoke answer.
pub const EXIT_CODE_HEADER: &str = "x-faasrt-exit-code";
/// Header carrying the invocation's duration in microseconds.
pub const DURATION_HEADER: &str = "x-faasrt-duration-us";

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
