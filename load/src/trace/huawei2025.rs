//! The Huawei Public Cloud 2025 per-request tables (Joosen et al.,
//! "Serverless Cold Starts and Where to Find Them", EuroSys'25;
//! sir-lab/data-release): one row per request, columns matched by name.
//!
//! Used: `time_frontend` (else `time_worker`; seconds from the dataset's
//! start) as the request's arrival, `funcName`, `userID` and the pool of
//! `podID` (`pool22-300-128-0000618412` is in pool `pool22-300-128`) as
//! the function (the dataset's funcID, `funcName---userID---poolName`), and
//! for its demand `runtimeCost` (else `totalCost_worker`; seconds),
//! `memory_usage` (MB, the pod's) and `requestBodySize` (bytes) where the
//! file has them.

use super::TraceFunction;
use crate::demand::Demand;
use crate::error::TraceError;
use crate::table::Table;
use std::path::Path;

/// One request of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The function: owner = `userID`, app = the pool, function = `funcName`.
    pub function: TraceFunction,
    /// When it arrived, in seconds from the dataset's start.
    pub arrival_s: f64,
    /// How long it ran, what memory its pod used, how big its body was.
    pub demand: Demand,
}

/// Bytes in the dataset's MB.
const MB: f64 = 1024.0 * 1024.0;

/// Reads a per-request table (CSV), in the file's order.
///
/// # Errors
/// [`TraceError`] naming the file and line: no arrival column (neither
/// `time_frontend` nor `time_worker`), a missing `funcName`, `userID` or
/// `podID`, a time or cost that is not a number >= 0.
pub fn read_requests(path: &Path) -> Result<Vec<Request>, TraceError> {
    let table = Table::open(path, "Huawei Cloud 2025 requests")?;
    let arrival = table
        .column("time_frontend")
        .or_else(|_| table.column("time_worker"))?;
    let name = table.column("funcName")?;
    let user = table.column("userID")?;
    let pod = table.column("podID")?;
    let duration = table
        .column("runtimeCost")
        .or_else(|_| table.column("totalCost_worker"))
        .ok();
    let memory = table.column("memory_usage").ok();
    let body = table.column("requestBodySize").ok();
    let mut rows = Vec::new();
    table.for_each_row(|row| {
        let pod_id = row.required(pod, "podID")?;
        let pool = pod_id
            .rsplit_once('-')
            .filter(|(_, serial)| serial.bytes().all(|b| b.is_ascii_digit()))
            .map_or(pod_id.as_str(), |(pool, _)| pool)
            .to_owned();
        let optional = |column: Option<usize>, what: &str| -> Result<f64, TraceError> {
            match column {
                Some(column) if !row.text(column).is_empty() => row.non_negative(column, what),
                _ => Ok(0.0),
            }
        };
        let duration_s = optional(duration, "runtimeCost")?;
        let memory_mb = optional(memory, "memory_usage")?;
        let body_bytes = optional(body, "requestBodySize")?;
        rows.push(Request {
            function: TraceFunction {
                owner: row.required(user, "userID")?,
                app: pool,
                function: row.required(name, "funcName")?,
            },
            arrival_s: row.non_negative(arrival, "time_frontend")?,
            demand: Demand {
                duration_us: (duration_s * 1e6).round() as u64,
                memory_bytes: (memory_mb * MB).round() as u64,
                input_bytes: body_bytes.round() as u64,
                output_bytes: 0,
            },
        });
        Ok(())
    })?;
    Ok(rows)
}
