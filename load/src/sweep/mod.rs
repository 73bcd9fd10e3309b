//! The dataset mode (FaaSLoad's generator mode): every function x every
//! input x every combination of parameter values ([`spec`]), each cell
//! invoked `repetitions` times one after the other, so each execution is
//! measured alone; one row per invocation, joined with the server's
//! journal record of it. The sweep checkpoints after every cell
//! ([`checkpoint`]) and resumes where it stopped; when every cell is done
//! it writes `dataset.csv` and `dataset.parquet`.

pub mod checkpoint;
pub mod journal;
pub mod spec;

use crate::dataset::{ParquetError, Table, Values};
use crate::inject::{Target, TraceIds};
use crate::server_journal::ServerRecord;
use bytes::Bytes;
use checkpoint::{Checkpoint, CheckpointError, Progress};
use journal::JournalSource;
use spec::{Cell, CellInput, SweepSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// One invocation of a sweep.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepRow {
    /// Its cell's number.
    pub cell: usize,
    /// The function.
    pub function: String,
    /// The input's name (its file, `text` or `empty`).
    pub input: String,
    /// `name=value` for each parameter, `;`-separated.
    pub parameters: String,
    /// The arguments, as a JSON array.
    pub args: String,
    /// Which repetition of the cell, from 0.
    pub repetition: u32,
    /// The trace id it was sent with.
    pub trace_id: String,
    /// From sending to the answer, ns.
    pub latency_ns: u64,
    /// The answer's status (0: none).
    pub status: u16,
    /// Bytes sent.
    pub request_bytes: u64,
    /// Bytes answered.
    pub response_bytes: u64,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// The server's record of it, when the journal had it.
    pub server: Option<ServerRecord>,
}

/// A sweep that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The checkpoint or rows files.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// An input file of a cell cannot be read.
    #[error("cell {cell}: cannot read the input {}: {source}", path.display())]
    Input {
        /// The cell.
        cell: usize,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No invocation of a cell got an answer: the target is gone. The cell
    /// is not counted; `--resume` runs it again.
    #[error(
        "cell {cell} ({function}): no answer from the target ({error}); the sweep stops with {cell} of {cells} cells done: --resume goes on from here"
    )]
    NoAnswer {
        /// The cell.
        cell: usize,
        /// Cells in all.
        cells: usize,
        /// Its function.
        function: String,
        /// The last error.
        error: String,
    },
    /// The dataset files cannot be written.
    #[error("writing the dataset: {0}")]
    Write(#[from] ParquetError),
}

/// How a sweep went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSummary {
    /// Cells in the sweep.
    pub cells: usize,
    /// Cells that were done before this run (resumed).
    pub resumed_from: usize,
    /// Invocations in the dataset.
    pub rows: usize,
    /// Of them, failed.
    pub failed: usize,
    /// Rows joined with the server's record.
    pub joined: usize,
}

/// Runs the cells of `spec` (file inputs relative to `base`) not yet done
/// in the run directory `out`, through `target`, whose function `i` is
/// `functions[i]` ([`functions_of`]), joining each row with `journal`.
///
/// # Errors
/// [`SweepError`]; what was done before the error is kept for `--resume`.
pub async fn sweep<T: Target>(
    spec: &SweepSpec,
    base: &Path,
    target: &T,
    journal: &mut JournalSource,
    out: &Path,
    resume: bool,
) -> Result<SweepSummary, SweepError> {
    let cells = spec.cells(base);
    let functions = functions_of(&cells);
    let index_of: HashMap<&str, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| (&**f, i))
        .collect();
    let fresh = Checkpoint {
        spec_xxh3: spec_hash(&cells, spec.repetitions),
        cells: cells.len(),
        cells_done: 0,
    };
    let (mut progress, mut rows) = Progress::open(out, fresh, resume)?;
    let resumed_from = progress.cells_done();
    // Trace ids of this session's run (a resumed sweep sends new ones).
    let run_id = crate::inject::new_run_id();
    for cell in &cells[resumed_from..] {
        let input = match &cell.input {
            CellInput::Text(text) => Bytes::from(text.clone()),
            CellInput::File(path) => {
                Bytes::from(std::fs::read(path).map_err(|source| SweepError::Input {
                    cell: cell.index,
                    path: path.clone(),
                    source,
                })?)
            }
        };
        let mut done = Vec::with_capacity(spec.repetitions as usize);
        for repetition in 0..spec.repetitions {
            let trace = TraceIds {
                run_id,
                index: (cell.index as u64) * u64::from(spec.repetitions) + u64::from(repetition),
            };
            let sent = Instant::now();
            let answer = target
                .invoke_with_args(
                    index_of[cell.function.as_str()],
                    cell.args.clone(),
                    input.clone(),
                    trace,
                )
                .await;
            done.push(SweepRow {
                cell: cell.index,
                function: cell.function.clone(),
                input: cell.input_name.clone(),
                parameters: cell
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                args: serde_json::to_string(&cell.args).expect("strings serialize"),
                repetition,
                trace_id: trace.trace_id(),
                latency_ns: u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX),
                status: answer.status,
                request_bytes: input.len() as u64,
                response_bytes: answer.response_bytes,
                error: answer.error,
                server: None,
            });
        }
        if done.iter().all(|row| row.status == 0) {
            return Err(SweepError::NoAnswer {
                cell: cell.index,
                cells: cells.len(),
                function: cell.function.clone(),
                error: done
                    .last()
                    .and_then(|r| r.error.clone())
                    .unwrap_or_default(),
            });
        }
        let mut records = journal.records(&cell.function).await;
        for row in &mut done {
            row.server = records.remove(&row.trace_id);
        }
        progress.cell_done(&done)?;
        rows.extend(done);
    }
    let table = rows_table(&rows);
    table.write_csv(&out.join("dataset.csv"))?;
    table.write(&out.join("dataset.parquet"))?;
    Ok(SweepSummary {
        cells: cells.len(),
        resumed_from,
        failed: rows
            .iter()
            .filter(|r| !(200..300).contains(&r.status) || r.error.is_some())
            .count(),
        joined: rows.iter().filter(|r| r.server.is_some()).count(),
        rows: rows.len(),
    })
}

/// The distinct functions of `cells`, in order of first appearance: the
/// target's function list.
pub fn functions_of(cells: &[Cell]) -> Vec<Arc<str>> {
    let mut functions: Vec<Arc<str>> = Vec::new();
    for cell in cells {
        if !functions.iter().any(|f| **f == *cell.function) {
            functions.push(Arc::from(cell.function.as_str()));
        }
    }
    functions
}

/// What identifies a sweep's cells: a checkpoint of another spec would
/// not line up.
fn spec_hash(cells: &[Cell], repetitions: u32) -> String {
    let mut text = format!("repetitions={repetitions}\n");
    for cell in cells {
        text.push_str(&format!("{cell:?}\n"));
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// The table of `dataset.{csv,parquet}`.
fn rows_table(rows: &[SweepRow]) -> Table {
    let u64s = |f: fn(&SweepRow) -> u64| Values::U64(rows.iter().map(|r| Some(f(r))).collect());
    let texts =
        |f: fn(&SweepRow) -> String| Values::Text(rows.iter().map(|r| Some(f(r))).collect());
    let server_u64 = |f: fn(&ServerRecord) -> Option<u64>| {
        Values::U64(rows.iter().map(|r| r.server.as_ref().and_then(f)).collect())
    };
    let server_text = |f: fn(&ServerRecord) -> String| {
        Values::Text(rows.iter().map(|r| r.server.as_ref().map(f)).collect())
    };
    let mut table = Table::default();
    table
        .required("cell", u64s(|r| r.cell as u64))
        .required("function", texts(|r| r.function.clone()))
        .required("input", texts(|r| r.input.clone()))
        .required("parameters", texts(|r| r.parameters.clone()))
        .required("args", texts(|r| r.args.clone()))
        .required("repetition", u64s(|r| u64::from(r.repetition)))
        .required("trace_id", texts(|r| r.trace_id.clone()))
        .required("latency_ns", u64s(|r| r.latency_ns))
        .required(
            "status",
            Values::I32(rows.iter().map(|r| Some(i32::from(r.status))).collect()),
        )
        .required("request_bytes", u64s(|r| r.request_bytes))
        .required("response_bytes", u64s(|r| r.response_bytes))
        .nullable(
            "error",
            Values::Text(rows.iter().map(|r| r.error.clone()).collect()),
        )
        .nullable("seq", server_u64(|s| Some(s.seq)))
        .nullable("start_kind", server_text(|s| s.start_kind.clone()))
        .nullable(
            "server_queue_ns",
            server_u64(|s| Some(s.start_ns.saturating_sub(s.arrival_ns))),
        )
        .nullable(
            "server_init_ns",
            server_u64(|s| Some(s.ready_ns.saturating_sub(s.start_ns))),
        )
        .nullable(
            "server_run_ns",
            server_u64(|s| Some(s.end_ns.saturating_sub(s.start_ns))),
        )
        .nullable("outcome", server_text(|s| s.outcome.clone()))
        .nullable("cpu_ns", server_u64(|s| s.cpu_ns))
        .nullable("peak_memory_bytes", server_u64(|s| s.peak_memory_bytes))
        .nullable("cycles", server_u64(|s| s.cycles))
        .nullable("instructions", server_u64(|s| s.instructions))
        .nullable("llc_misses", server_u64(|s| s.llc_misses));
    table
}
