//! The Azure Functions 2021 trace (Zhang et al., "Faster and Cheaper
//! Serverless Computing on Harvested Resources", SOSP'21): one row per
//! invocation, `app,func,end_timestamp,duration`, times in seconds from
//! the trace's start.

use super::TraceFunction;
use crate::error::TraceError;
use crate::table::Table;
use std::path::Path;

/// One invocation of the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// The function (the trace has no owner column).
    pub function: TraceFunction,
    /// When it started, in seconds from the trace's start: `end_timestamp -
    /// duration`.
    pub start_s: f64,
    /// How long it ran, in seconds (`duration`).
    pub duration_s: f64,
}

/// Reads a 2021 trace file, sorted by start time (the file is sorted by
/// end time; ties keep the file's order).
///
/// # Errors
/// [`TraceError`] naming the file and line: a missing column, a time that
/// is not a number, a duration longer than the time it ended at.
pub fn read_invocations(path: &Path) -> Result<Vec<Invocation>, TraceError> {
    let table = Table::open(path, "Azure Functions 2021")?;
    let app = table.column("app")?;
    let func = table.column("func")?;
    let end = table.column("end_timestamp")?;
    let duration = table.column("duration")?;
    let mut rows = Vec::new();
    table.for_each_row(|row| {
        let end_s = row.non_negative(end, "end_timestamp")?;
        let duration_s = row.non_negative(duration, "duration")?;
        if duration_s > end_s {
            return Err(row.error(format!(
                "duration {duration_s} s is longer than end_timestamp {end_s} s: the invocation would start before the trace"
            )));
        }
        rows.push(Invocation {
            function: TraceFunction {
                owner: String::new(),
                app: row.required(app, "app")?,
                function: row.required(func, "func")?,
            },
            start_s: end_s - duration_s,
            duration_s,
        });
        Ok(())
    })?;
    rows.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok(rows)
}
