//! The Azure Functions 2019 trace (Shahrad et al., "Serverless in the
//! Wild", ATC'20): per-minute invocation counts, duration percentiles per
//! function and memory percentiles per application, one file of each per
//! day (`*.anon.dNN.csv`).

use super::TraceFunction;
use crate::error::TraceError;
use crate::table::{Row, Table};
use std::path::Path;

/// One row of `invocations_per_function_md.anon.dNN.csv`: how many times a
/// function was invoked in each minute of the day.
#[derive(Clone, Debug, PartialEq)]
pub struct MinuteCounts {
    /// The function.
    pub function: TraceFunction,
    /// Its trigger (`http`, `timer`, `queue`, ...).
    pub trigger: String,
    /// Invocations in minute 1, 2, ... (the columns `1`..`1440`; a cut file
    /// may have fewer, always from `1` on).
    pub per_minute: Vec<u32>,
}

/// One row of `function_durations_percentiles.anon.dNN.csv`: a function's
/// execution time over the day, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationPercentiles {
    /// The function.
    pub function: TraceFunction,
    /// Mean duration (`Average`).
    pub average_ms: f64,
    /// Executions the figures cover (`Count`).
    pub count: u64,
    /// Shortest (`Minimum`).
    pub minimum_ms: f64,
    /// Longest (`Maximum`).
    pub maximum_ms: f64,
    /// `(percentile, ms)` from the `percentile_Average_P` columns.
    pub percentiles: Vec<(u8, f64)>,
}

/// One row of `app_memory_percentiles.anon.dNN.csv`: an application's
/// allocated memory over the day, in MB.
#[derive(Clone, Debug, PartialEq)]
pub struct AppMemory {
    /// The owner (`HashOwner`).
    pub owner: String,
    /// The application (`HashApp`).
    pub app: String,
    /// Samples the figures cover (`SampleCount`).
    pub sample_count: u64,
    /// Mean allocated memory (`AverageAllocatedMb`).
    pub average_mb: f64,
    /// `(percentile, MB)` from the `AverageAllocatedMb_pctP` columns.
    pub percentiles: Vec<(u8, f64)>,
}

const DURATION_PERCENTILES: [u8; 7] = [0, 1, 25, 50, 75, 99, 100];
const MEMORY_PERCENTILES: [u8; 8] = [1, 5, 25, 50, 75, 95, 99, 100];

/// Reads an invocations file.
///
/// # Errors
/// [`TraceError`] naming the file and line: a missing column, minute
/// columns that do not run `1`, `2`, ... without a gap, a count that is not
/// a whole number.
pub fn read_invocations(path: &Path) -> Result<Vec<MinuteCounts>, TraceError> {
    let format = "Azure Functions 2019 invocations";
    let table = Table::open(path, format)?;
    let keys = FunctionColumns::find(&table)?;
    let trigger = table.column("Trigger")?;
    let minutes = minute_columns(&table, path, format)?;
    let mut rows = Vec::new();
    table.for_each_row(|row| {
        let per_minute = minutes
            .iter()
            .enumerate()
            .map(|(minute, &index)| {
                row.parse(index, &format!("the count of minute {}", minute + 1))
            })
            .collect::<Result<_, _>>()?;
        rows.push(MinuteCounts {
            function: keys.read(row)?,
            trigger: row.text(trigger).to_owned(),
            per_minute,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// Reads a durations file.
///
/// # Errors
/// [`TraceError`] naming the file and line.
pub fn read_durations(path: &Path) -> Result<Vec<DurationPercentiles>, TraceError> {
    let table = Table::open(path, "Azure Functions 2019 durations")?;
    let keys = FunctionColumns::find(&table)?;
    let [average, count, minimum, maximum] =
        ["Average", "Count", "Minimum", "Maximum"].map(|name| table.column(name));
    let (average, count, minimum, maximum) = (average?, count?, minimum?, maximum?);
    let percentiles =
        PercentileColumns::find(&table, "percentile_Average_", &DURATION_PERCENTILES)?;
    let mut rows = Vec::new();
    table.for_each_row(|row| {
        rows.push(DurationPercentiles {
            function: keys.read(row)?,
            average_ms: row.non_negative(average, "Average")?,
            count: row.parse(count, "Count")?,
            minimum_ms: row.non_negative(minimum, "Minimum")?,
            maximum_ms: row.non_negative(maximum, "Maximum")?,
            percentiles: percentiles.read(row)?,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// Reads a memory file.
///
/// # Errors
/// [`TraceError`] naming the file and line.
pub fn read_memory(path: &Path) -> Result<Vec<AppMemory>, TraceError> {
    let table = Table::open(path, "Azure Functions 2019 memory")?;
    let owner = table.column("HashOwner")?;
    let app = table.column("HashApp")?;
    let samples = table.column("SampleCount")?;
    let average = table.column("AverageAllocatedMb")?;
    let percentiles =
        PercentileColumns::find(&table, "AverageAllocatedMb_pct", &MEMORY_PERCENTILES)?;
    let mut rows = Vec::new();
    table.for_each_row(|row| {
        rows.push(AppMemory {
            owner: row.required(owner, "HashOwner")?,
            app: row.required(app, "HashApp")?,
            sample_count: row.parse(samples, "SampleCount")?,
            average_mb: row.non_negative(average, "AverageAllocatedMb")?,
            percentiles: percentiles.read(row)?,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// The three columns that name a function.
struct FunctionColumns {
    owner: usize,
    app: usize,
    function: usize,
}

impl FunctionColumns {
    fn find(table: &Table) -> Result<Self, TraceError> {
        Ok(FunctionColumns {
            owner: table.column("HashOwner")?,
            app: table.column("HashApp")?,
            function: table.column("HashFunction")?,
        })
    }

    fn read(&self, row: &Row<'_>) -> Result<TraceFunction, TraceError> {
        Ok(TraceFunction {
            owner: row.required(self.owner, "HashOwner")?,
            app: row.required(self.app, "HashApp")?,
            function: row.required(self.function, "HashFunction")?,
        })
    }
}

/// The indexes of the columns `1`, `2`, ... `N`, in minute order.
fn minute_columns(
    table: &Table,
    path: &Path,
    format: &'static str,
) -> Result<Vec<usize>, TraceError> {
    let mut minutes: Vec<(u32, usize)> = table
        .header()
        .iter()
        .enumerate()
        .filter_map(|(index, name)| Some((name.parse::<u32>().ok()?, index)))
        .collect();
    minutes.sort_unstable();
    if minutes.is_empty() {
        return Err(TraceError::MissingColumn {
            path: path.to_owned(),
            format,
            column: "1".into(),
        });
    }
    for (expected, &(minute, _)) in (1u32..).zip(&minutes) {
        if minute != expected {
            return Err(TraceError::BadRow {
                path: path.to_owned(),
                line: 1,
                reason: format!(
                    "the minute columns must run 1, 2, ... without a gap; after {} comes {minute}",
                    expected - 1
                ),
            });
        }
    }
    Ok(minutes.into_iter().map(|(_, index)| index).collect())
}

/// The `<prefix><P>` columns of a set of percentiles.
struct PercentileColumns {
    prefix: &'static str,
    columns: Vec<(u8, usize)>,
}

impl PercentileColumns {
    fn find(table: &Table, prefix: &'static str, percentiles: &[u8]) -> Result<Self, TraceError> {
        let columns = percentiles
            .iter()
            .map(|&p| Ok((p, table.column(&format!("{prefix}{p}"))?)))
            .collect::<Result<_, TraceError>>()?;
        Ok(PercentileColumns { prefix, columns })
    }

    /// `(percentile, value)` of `row`, each a number >= 0.
    fn read(&self, row: &Row<'_>) -> Result<Vec<(u8, f64)>, TraceError> {
        self.columns
            .iter()
            .map(|&(p, index)| Ok((p, row.non_negative(index, &format!("{}{p}", self.prefix))?)))
            .collect()
    }
}
