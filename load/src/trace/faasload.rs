//! FaaSLoad's per-user trace files: one invocation per line,
//! `WAIT\tINPUT\tPARAM:VALUE\t...`, where `WAIT` is the time in seconds to
//! wait after the previous invocation (or the start) before this one,
//! `INPUT` the input to give it, and each `PARAM:VALUE` a parameter.
//! Empty lines and lines starting with `#` are skipped.

use crate::error::TraceError;
use std::path::Path;
use std::time::Duration;

/// One line of a FaaSLoad trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Time to wait after the previous invocation's send time.
    pub wait: Duration,
    /// The input, as written (a file name or an inline value).
    pub input: String,
    /// The parameters, in the line's order.
    pub parameters: Vec<(String, String)>,
}

/// Reads a FaaSLoad trace file.
///
/// # Errors
/// [`TraceError`] naming the file and line: a line without an input, a wait
/// that is not a non-negative number of seconds, a parameter without `:`.
pub fn read_entries(path: &Path) -> Result<Vec<Entry>, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index as u64 + 1;
        let bad = |reason: String| TraceError::BadRow {
            path: path.to_owned(),
            line: line_number,
            reason,
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let wait_text = fields.next().unwrap_or_default().trim();
        let wait = wait_text
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .ok_or_else(|| {
                bad(format!(
                    "WAIT is {wait_text:?}, not a number of seconds >= 0"
                ))
            })?;
        let input = fields
            .next()
            .ok_or_else(|| bad("no INPUT after WAIT (fields are separated by tabs)".into()))?
            .to_owned();
        let parameters = fields
            .map(|field| {
                field
                    .split_once(':')
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .ok_or_else(|| bad(format!("parameter {field:?} is not PARAM:VALUE")))
            })
            .collect::<Result<_, _>>()?;
        entries.push(Entry {
            wait,
            input,
            parameters,
        });
    }
    if entries.is_empty() {
        return Err(TraceError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(entries)
}
