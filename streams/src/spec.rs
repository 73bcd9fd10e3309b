//! A stream's spec: its stages (a function, its arguments, how many
//! replicas, and for a keyed stage where its key is), the framing of its
//! records and how often it checkpoints. The JSON extends the named
//! pipelines' (`{"stages": [{"function": "grep", "args": ["error"]}]}`);
//! everything a spec can get wrong is refused when it is parsed, naming
//! the stage.

use faasrt_runtime::FunctionName;
use serde::{Deserialize, Serialize};

/// Checkpoint interval when a spec gives none, in milliseconds.
pub const DEFAULT_CHECKPOINT_INTERVAL_MS: u64 = 1_000;
/// Shortest checkpoint interval accepted, in milliseconds.
pub const MIN_CHECKPOINT_INTERVAL_MS: u64 = 100;
/// Records per batch when a spec gives no `batch_records`.
pub const DEFAULT_BATCH_RECORDS: u32 = 4096;
/// Most records per batch.
pub const MAX_BATCH_RECORDS: u32 = 4096;
/// Most replicas of one stage.
pub const MAX_REPLICAS: u32 = 64;
/// Most stages of one stream.
pub const MAX_STAGES: usize = 64;

/// How records are cut on the stream's edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// A record is a line, its newline included; a keyed stage's key is one
    /// of its fields.
    #[default]
    Lines,
    /// A record is a length-prefixed frame that carries its key.
    Frames,
}

/// That a stage is keyed, and where it finds a record's key: in `lines`
/// framing, field `field` (counted from 0) of the line split at
/// `delimiter`; in `frames` framing the frame carries its key, and the spec
/// is `"key": {}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The field that is the key, counted from 0 (`lines` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<usize>,
    /// What separates fields: one or more characters, a space by default.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
}

fn default_delimiter() -> String {
    " ".to_owned()
}

/// One stage of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// The deployed function it runs.
    pub function: String,
    /// Arguments after the function's own deploy arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// How many replicas run it, 1 by default.
    #[serde(default = "one")]
    pub replicas: u32,
    /// Present for a keyed stage: records go to the replica that owns their
    /// key's slot, and state is scoped to the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySpec>,
    /// Pins the stage's replicas: replica `r` runs on a thread of its own,
    /// bound to CPU `cpus[r % cpus.len()]`. Without it replicas are tasks
    /// on the server's threads, wherever the scheduler puts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Vec<usize>>,
}

fn one() -> u32 {
    1
}

/// A stream: its stages, first to last, and how its records flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// At least one stage.
    pub stages: Vec<StageSpec>,
    /// How records are framed on every edge.
    #[serde(default)]
    pub framing: Framing,
    /// How often a checkpoint is taken, in milliseconds.
    #[serde(default = "default_interval")]
    pub checkpoint_interval_ms: u64,
    /// Most records the source puts in one batch (one invocation of the
    /// first stage): fewer means lower latency per hop under load, more
    /// means higher throughput.
    #[serde(default = "default_batch_records")]
    pub batch_records: u32,
    /// Where the input log's records come from: `POST .../records` when
    /// absent, else a file the server reads into the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceSpec>,
}

/// A file source: a file in the server's source directory, read in the
/// stream's framing into its input log (durably, its read position
/// committed with each append, so a restart neither skips nor repeats a
/// record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The file's path relative to the source directory (`faasrt serve
    /// --source-dir`); it cannot leave that directory.
    pub file: String,
    /// Keep reading as the file grows, like `tail -f`. Without it, the
    /// stream drains (a final checkpoint, then stopped) once the file is
    /// read to its end.
    #[serde(default)]
    pub follow: bool,
}

fn default_batch_records() -> u32 {
    DEFAULT_BATCH_RECORDS
}

fn default_interval() -> u64 {
    DEFAULT_CHECKPOINT_INTERVAL_MS
}

/// Why a stream spec is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The body is not a stream spec (bad JSON, an unknown field, a wrong
    /// type).
    #[error("not a stream spec: {0}")]
    Json(String),
    /// No stage at all.
    #[error("a stream needs at least one stage")]
    NoStages,
    /// More stages than [`MAX_STAGES`].
    #[error("a stream has at most {max} stages, this one has {count}")]
    TooManyStages {
        /// Stages in the spec.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A stage's function name is not a valid name.
    #[error("stage {stage}: {reason}")]
    InvalidFunction {
        /// The stage, counted from 1.
        stage: usize,
        /// What is wrong with the name.
        reason: String,
    },
    /// A stage asks for 0 or too many replicas.
    #[error("stage {stage}: replicas must be between 1 and {max}, got {replicas}")]
    Replicas {
        /// The stage, counted from 1.
        stage: usize,
        /// What it asked for.
        replicas: u32,
        /// The limit.
        max: u32,
    },
    /// A stage's `cpus` is empty or names a CPU this process may not run on.
    #[error(
        "stage {stage}: cpus must list CPUs this server may run on ({allowed:?}), got {cpus:?}"
    )]
    Cpus {
        /// The stage, counted from 1.
        stage: usize,
        /// What it asked for.
        cpus: Vec<usize>,
        /// The CPUs the server may run on.
        allowed: Vec<usize>,
    },
    /// A keyed stage's delimiter is empty.
    #[error("stage {stage}: the key's delimiter must not be empty")]
    EmptyDelimiter {
        /// The stage, counted from 1.
        stage: usize,
    },
    /// A `key.field` in a `frames` stream, whose frames carry their key.
    #[error(
        "stage {stage}: in \"frames\" framing each frame carries its key: write \"key\": {{}} without a field"
    )]
    KeyFieldInFrames {
        /// The stage, counted from 1.
        stage: usize,
    },
    /// A keyed stage of a `lines` stream without `key.field`.
    #[error("stage {stage}: a keyed stage in \"lines\" framing needs \"key\": {{\"field\": N}}")]
    KeyFieldMissing {
        /// The stage, counted from 1.
        stage: usize,
    },
    /// `batch_records` is 0 or over [`MAX_BATCH_RECORDS`].
    #[error("batch_records must be between 1 and {max}, got {value}")]
    BatchRecords {
        /// What the spec asked for.
        value: u32,
        /// The most accepted.
        max: u32,
    },
    /// A file source's path is not a relative path inside the source
    /// directory.
    #[error(
        "source.file must be a relative path without \"..\" (inside the server's source directory), got {0:?}"
    )]
    SourcePath(String),
    /// The checkpoint interval is below [`MIN_CHECKPOINT_INTERVAL_MS`].
    #[error("checkpoint_interval_ms must be at least {min}, got {value}")]
    CheckpointInterval {
        /// What the spec asked for.
        value: u64,
        /// The shortest accepted.
        min: u64,
    },
}

impl StreamSpec {
    /// Parses and validates a JSON spec.
    ///
    /// # Errors
    /// [`SpecError`] naming the first problem found.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SpecError> {
        let spec: StreamSpec =
            serde_json::from_slice(bytes).map_err(|e| SpecError::Json(e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every rule a spec must follow.
    ///
    /// # Errors
    /// [`SpecError`] naming the first problem found.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.stages.is_empty() {
            return Err(SpecError::NoStages);
        }
        if self.stages.len() > MAX_STAGES {
            return Err(SpecError::TooManyStages {
                count: self.stages.len(),
                max: MAX_STAGES,
            });
        }
        for (index, stage) in self.stages.iter().enumerate() {
            let number = index + 1;
            FunctionName::parse(&stage.function).map_err(|e| SpecError::InvalidFunction {
                stage: number,
                reason: e.to_string(),
            })?;
            if stage.replicas == 0 || stage.replicas > MAX_REPLICAS {
                return Err(SpecError::Replicas {
                    stage: number,
                    replicas: stage.replicas,
                    max: MAX_REPLICAS,
                });
            }
            if let Some(cpus) = &stage.cpus {
                let allowed = crate::engine::pinned::allowed_cpus();
                if cpus.is_empty() || !cpus.iter().all(|cpu| allowed.contains(cpu)) {
                    return Err(SpecError::Cpus {
                        stage: number,
                        cpus: cpus.clone(),
                        allowed,
                    });
                }
            }
            if let Some(key) = &stage.key {
                match (self.framing, key.field) {
                    (Framing::Frames, Some(_)) => {
                        return Err(SpecError::KeyFieldInFrames { stage: number });
                    }
                    (Framing::Lines, None) => {
                        return Err(SpecError::KeyFieldMissing { stage: number });
                    }
                    _ => {}
                }
                if key.delimiter.is_empty() {
                    return Err(SpecError::EmptyDelimiter { stage: number });
                }
            }
        }
        if let Some(source) = &self.source {
            source.validate()?;
        }
        if self.batch_records == 0 || self.batch_records > MAX_BATCH_RECORDS {
            return Err(SpecError::BatchRecords {
                value: self.batch_records,
                max: MAX_BATCH_RECORDS,
            });
        }
        if self.checkpoint_interval_ms < MIN_CHECKPOINT_INTERVAL_MS {
            return Err(SpecError::CheckpointInterval {
                value: self.checkpoint_interval_ms,
                min: MIN_CHECKPOINT_INTERVAL_MS,
            });
        }
        Ok(())
    }

    /// The function names the stream uses, in stage order, each once.
    pub fn functions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for stage in &self.stages {
            if !names.contains(&stage.function.as_str()) {
                names.push(&stage.function);
            }
        }
        names
    }
}

impl SourceSpec {
    /// Checks that the path stays inside the source directory: relative,
    /// and made of plain names only. (The directory is opened with
    /// cap-std, which refuses any escape, a symbolic link's included; this
    /// refuses the obvious ones early, with a clear message.)
    ///
    /// # Errors
    /// [`SpecError::SourcePath`].
    pub fn validate(&self) -> Result<(), SpecError> {
        let path = std::path::Path::new(&self.file);
        let plain = !self.file.is_empty()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if plain {
            Ok(())
        } else {
            Err(SpecError::SourcePath(self.file.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_spec_takes_the_defaults() {
        let spec = StreamSpec::from_json(br#"{"stages": [{"function": "upper"}]}"#).expect("valid");
        assert_eq!(spec.framing, Framing::Lines);
        assert_eq!(spec.checkpoint_interval_ms, DEFAULT_CHECKPOINT_INTERVAL_MS);
        assert_eq!(spec.batch_records, DEFAULT_BATCH_RECORDS);
        assert_eq!(spec.stages[0].replicas, 1);
        assert_eq!(spec.stages[0].key, None);
        assert!(spec.stages[0].args.is_empty());
    }

    #[test]
    fn a_keyed_spec_round_trips_through_json() {
        let text = br#"{"stages": [
            {"function": "parse"},
            {"function": "count", "replicas": 4, "key": {"field": 1, "delimiter": ","}}
        ], "framing": "lines", "checkpoint_interval_ms": 250}"#;
        let spec = StreamSpec::from_json(text).expect("valid");
        assert_eq!(
            spec.stages[1].key,
            Some(KeySpec {
                field: Some(1),
                delimiter: ",".into()
            })
        );
        let again =
            StreamSpec::from_json(&serde_json::to_vec(&spec).expect("json")).expect("valid");
        assert_eq!(again, spec);
        assert_eq!(spec.functions(), ["parse", "count"]);
    }

    #[test]
    fn a_keyed_frames_stage_names_no_field() {
        let spec = StreamSpec::from_json(
            br#"{"stages": [{"function": "count", "key": {}}], "framing": "frames"}"#,
        )
        .expect("valid");
        assert_eq!(spec.stages[0].key.as_ref().expect("keyed").field, None);
    }

    #[test]
    fn a_key_without_delimiter_splits_at_spaces() {
        let spec =
            StreamSpec::from_json(br#"{"stages": [{"function": "count", "key": {"field": 0}}]}"#)
                .expect("valid");
        assert_eq!(spec.stages[0].key.as_ref().expect("key").delimiter, " ");
    }

    #[test]
    fn every_bad_spec_is_refused_naming_its_problem() {
        let cases: [(&[u8], SpecError); 11] = [
            (
                br#"{"stages": [{"function": "a"}], "batch_records": 0}"#,
                SpecError::BatchRecords {
                    value: 0,
                    max: 4096,
                },
            ),
            (
                br#"{"stages": [{"function": "a"}], "batch_records": 4097}"#,
                SpecError::BatchRecords {
                    value: 4097,
                    max: 4096,
                },
            ),
            (br#"{"stages": []}"#, SpecError::NoStages),
            (
                br#"{"stages": [{"function": "Bad Name"}]}"#,
                SpecError::InvalidFunction {
                    stage: 1,
                    reason: String::new(),
                },
            ),
            (
                br#"{"stages": [{"function": "a"}, {"function": "b", "replicas": 0}]}"#,
                SpecError::Replicas {
                    stage: 2,
                    replicas: 0,
                    max: MAX_REPLICAS,
                },
            ),
            (
                br#"{"stages": [{"function": "a", "replicas": 65}]}"#,
                SpecError::Replicas {
                    stage: 1,
                    replicas: 65,
                    max: MAX_REPLICAS,
                },
            ),
            (
                br#"{"stages": [{"function": "a", "key": {"field": 0, "delimiter": ""}}]}"#,
                SpecError::EmptyDelimiter { stage: 1 },
            ),
            (
                br#"{"stages": [{"function": "a", "key": {"field": 0}}], "framing": "frames"}"#,
                SpecError::KeyFieldInFrames { stage: 1 },
            ),
            (
                br#"{"stages": [{"function": "a", "key": {}}]}"#,
                SpecError::KeyFieldMissing { stage: 1 },
            ),
            (
                br#"{"stages": [{"function": "a"}], "checkpoint_interval_ms": 99}"#,
                SpecError::CheckpointInterval {
                    value: 99,
                    min: 100,
                },
            ),
            (
                br#"{"stages": [{"function": "a", "replica": 2}]}"#,
                SpecError::Json(String::new()),
            ),
        ];
        for (text, expected) in cases {
            let got = StreamSpec::from_json(text).expect_err("refused");
            // The reasons of names and JSON come from their parsers; the
            // variant and the stage are what this test pins.
            let same = match (&got, &expected) {
                (
                    SpecError::InvalidFunction { stage: a, .. },
                    SpecError::InvalidFunction { stage: b, .. },
                ) => a == b,
                (SpecError::Json(message), SpecError::Json(_)) => message.contains("replica"),
                _ => got == expected,
            };
            assert!(same, "{}: got {got:?}", String::from_utf8_lossy(text));
        }
        let too_many = format!(
            r#"{{"stages": [{}]}}"#,
            vec![r#"{"function": "a"}"#; MAX_STAGES + 1].join(",")
        );
        assert_eq!(
            StreamSpec::from_json(too_many.as_bytes()),
            Err(SpecError::TooManyStages {
                count: MAX_STAGES + 1,
                max: MAX_STAGES
            })
        );
    }
}
