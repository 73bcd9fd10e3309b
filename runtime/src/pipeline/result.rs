//! What a pipeline run reports: each stage's status (like bash's
//! `PIPESTATUS`), bytes in and out, and timings.

use serde::Serialize;

/// A named pipeline as stored and shown by `GET /v1/pipelines/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PipelineInfo {
    /// Its name (same rules as function names).
    pub name: String,
    /// Its stages.
    pub stages: Vec<super::StageSpec>,
    /// The same stages as a shell-like string.
    pub spec: String,
    /// When it was stored, RFC 3339 in UTC.
    pub created_at: String,
}

/// How one stage ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageResult {
    /// The function that ran.
    pub function: String,
    /// The stage's own arguments.
    pub args: Vec<String>,
    /// Its exit code (134 trap, 124 timeout, as for invocations).
    pub exit_code: i32,
    /// `ok`, `exit`, `trap`, `timeout`.
    pub outcome: crate::invocation::Outcome,
    /// How it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Bytes it read from its faasin.
    pub bytes_in: u64,
    /// Bytes it wrote to its faasout.
    pub bytes_out: u64,
    /// From its start to its exit, in microseconds.
    pub duration_us: u64,
    /// The end of its log.
    pub log_tail: String,
}

/// How a whole pipeline ended: once every stage has exited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipelineResult {
    /// The stages, first to last.
    pub stages: Vec<StageResult>,
    /// From the start of the first stage to the exit of the last one to
    /// exit, in microseconds.
    pub duration_us: u64,
}

impl PipelineResult {
    /// The pipeline's status: the last stage's, as in a shell.
    pub fn exit_code(&self) -> i32 {
        self.stages.last().map_or(0, |stage| stage.exit_code)
    }

    /// Every stage's exit code, first to last (bash's `PIPESTATUS`).
    pub fn pipestatus(&self) -> Vec<i32> {
        self.stages.iter().map(|stage| stage.exit_code).collect()
    }

    /// `PIPESTATUS` as text: the codes separated by spaces.
    pub fn pipestatus_text(&self) -> String {
        self.pipestatus()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Outcome;

    #[test]
    fn a_stage_outcome_serializes_to_its_label() {
        for outcome in [
            Outcome::Ok,
            Outcome::Exit,
            Outcome::Trap,
            Outcome::Timeout,
            Outcome::OutputTooLarge,
        ] {
            let stage = StageResult {
                function: "f".into(),
                args: Vec::new(),
                exit_code: 0,
                outcome,
                message: None,
                bytes_in: 0,
                bytes_out: 0,
                duration_us: 0,
                log_tail: String::new(),
            };
            let json = serde_json::to_value(&stage).expect("serializes");
            assert_eq!(json["outcome"], outcome.label());
        }
    }
}
