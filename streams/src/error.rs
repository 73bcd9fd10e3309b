//! The errors of the streams API, one variant per thing a user can get
//! wrong or the host can fail at; `faasrt-server` maps each to one status
//! and one stable code.

use crate::framing::FramingError;
use crate::spec::SpecError;
use faasrt_runtime::RuntimeError;

/// An error from a [`crate::Streams`] operation.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The stream name is not a valid name (the rules of function names).
    #[error("invalid stream name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No stream of this name exists.
    #[error("stream {name:?} does not exist")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// The spec is malformed.
    #[error("invalid stream spec: {0}")]
    Spec(#[from] SpecError),
    /// A stage names a function that is not deployed.
    #[error("stage {stage}: function {function:?} is not deployed")]
    UnknownFunction {
        /// The stage, counted from 1.
        stage: usize,
        /// The function it names.
        function: String,
    },
    /// Records sent to a stream are not valid in its framing, or one is
    /// too large, or its key field is missing; nothing of the request was
    /// stored.
    #[error("invalid records: {0}")]
    Records(#[from] FramingError),
    /// The operation does not apply in the stream's current state.
    #[error("stream {name:?} is {state}: cannot {action}")]
    WrongState {
        /// The stream.
        name: String,
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// A stage index that the stream does not have.
    #[error("stream {name:?} has {stages} stage(s), counted from 0: there is no stage {index}")]
    NoSuchStage {
        /// The stream.
        name: String,
        /// The index asked for.
        index: usize,
        /// How many stages it has.
        stages: usize,
    },
    /// Rescaling a stage to a replica count outside the limits.
    #[error("replicas must be between 1 and {max}, got {replicas}")]
    Replicas {
        /// What was asked.
        replicas: u32,
        /// The limit.
        max: u32,
    },
    /// Records were posted to a stream that reads a file.
    #[error(
        "stream {name:?} reads its records from the file {file:?}: records cannot be posted to it"
    )]
    FileSource {
        /// The stream.
        name: String,
        /// Its source file.
        file: String,
    },
    /// A spec's source file cannot be read.
    #[error("source file {file:?}: {reason}")]
    SourceFile {
        /// The file, as the spec names it.
        file: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// The stream's state database failed.
    #[error("stream store: {0}")]
    Store(#[from] redb::Error),
    /// The stream store holds something this version cannot read.
    #[error("stream store is corrupt: {0}")]
    Corrupt(String),
    /// The runtime underneath failed (data directory, engine).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

faasrt_runtime::redb_errors_into!(StreamError::Store);
