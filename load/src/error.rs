//! What can go wrong reading a trace or a schedule: every error names the
//! file and, for a row, its line, so a user can open the file there.

use std::path::PathBuf;

/// A trace or schedule file could not be read as its format says.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The header lacks a column the format needs.
    #[error("{}: line 1: no column {column:?} in the header (a {format} file has it)", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The format the file was read as.
        format: &'static str,
        /// The column that is missing.
        column: String,
    },
    /// A row does not parse.
    #[error("{}: line {line}: {reason}", path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// The row's line number, 1-based, the header being line 1.
        line: u64,
        /// What is wrong with it, in the user's words.
        reason: String,
    },
    /// The file has a header but no row.
    #[error("{}: no rows after the header", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}
