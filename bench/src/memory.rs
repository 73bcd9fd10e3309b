//! `faasrt-bench memory`: what a `faasrt serve` process keeps in memory
//! with every example deployed, against the same server with none, in the
//! same run. Each run starts a fresh data directory and reads
//! `/proc/PID/status` of the real server process:
//!
//! - `empty`: `faasrt serve` with no function (the baseline);
//! - `deployed`: `serve --examples` once every example is compiled,
//!   pre-initialized and stored (the first start);
//! - `invoked`: the same after one invocation of every function;
//! - `restarted`, `restarted-invoked`: a new process on that data
//!   directory (every function loaded from its artifact), before and after
//!   invoking every function once.
//!
//! Each row gives the median and the largest reading over the runs, the sum
//! of the functions' `resident_bytes`, and VmRSS as a ratio to `empty`'s.
//! With `--baseline PATH` a second faasrt binary (an older build) goes
//! through the same states in the same run, and each row also gives its
//! VmRSS as a ratio to the baseline's in that state. A second table gives
//! each function's `resident_bytes` (median); a build that does not report
//! it counts 0 there.

use crate::http_client::HttpClient;
use crate::peers::{self, ServerProcess};
use crate::report::{self, Bar, Format, Row};
use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The target for a server with every example deployed.
const TARGET_MIB: f64 = 150.0;

/// Options of `faasrt-bench memory`.
#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    /// The faasrt binary under test (default: `$FAASRT_BIN`, else the one
    /// next to this benchmark).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
    /// A second faasrt binary taken through the same states in the same run.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Fresh data directories, each taken through every state.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// One run.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/memory")]
    pub out: PathBuf,
}

/// One state of the server, over the runs.
#[derive(Debug, Serialize)]
pub struct MemoryRow {
    binary: String,
    state: String,
    functions: usize,
    vm_rss_mib_p50: f64,
    vm_rss_mib_max: f64,
    rss_anon_mib_p50: f64,
    rss_anon_mib_max: f64,
    rss_file_mib_p50: f64,
    /// The sum of every function's `resident_bytes`, median.
    resident_mib_p50: f64,
    /// VmRSS p50 over the empty server's VmRSS p50 in the same run.
    ratio_to_empty: f64,
    /// VmRSS p50 over the baseline binary's in the same state (1 without
    /// a baseline).
    ratio_to_baseline: f64,
}

impl Row for MemoryRow {
    fn header() -> &'static [&'static str] {
        &[
            "binary",
            "state",
            "functions",
            "vm_rss_mib_p50",
            "vm_rss_mib_max",
            "rss_anon_mib_p50",
            "rss_anon_mib_max",
            "rss_file_mib_p50",
            "resident_mib_p50",
            "ratio_to_empty",
            "ratio_to_baseline",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.binary.clone(),
            self.state.clone(),
            self.functions.to_string(),
            format!("{:.1}", self.vm_rss_mib_p50),
            format!("{:.1}", self.vm_rss_mib_max),
            format!("{:.1}", self.rss_anon_mib_p50),
            format!("{:.1}", self.rss_anon_mib_max),
            format!("{:.1}", self.rss_file_mib_p50),
            format!("{:.1}", self.resident_mib_p50),
            format!("{:.2}", self.ratio_to_empty),
            format!("{:.2}", self.ratio_to_baseline),
        ]
    }
}

/// One function's `resident_bytes`, median over the runs.
#[derive(Debug, Serialize)]
pub struct FunctionRow {
    function: String,
    kind: String,
    size_kib: f64,
    deployed_kib_p50: f64,
    invoked_kib_p50: f64,
    restarted_invoked_kib_p50: f64,
}

impl Row for FunctionRow {
    fn header() -> &'static [&'static str] {
        &[
            "function",
            "kind",
            "size_kib",
            "deployed_kib_p50",
            "invoked_kib_p50",
            "restarted_invoked_kib_p50",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.function.clone(),
            self.kind.clone(),
            format!("{:.0}", self.size_kib),
            format!("{:.0}", self.deployed_kib_p50),
            format!("{:.0}", self.invoked_kib_p50),
            format!("{:.0}", self.restarted_invoked_kib_p50),
        ]
    }
}

/// The states of one run, in order.
const STATES: [&str; 5] = [
    "empty",
    "deployed",
    "invoked",
    "restarted",
    "restarted-invoked",
];

/// One reading of the server process.
#[derive(Debug, Clone, Default)]
struct Reading {
    vm_rss_kib: u64,
    rss_anon_kib: u64,
    rss_file_kib: u64,
    /// `resident_bytes` of each function: (kind, size, resident).
    functions: BTreeMap<String, (String, u64, u64)>,
}

/// Runs the benchmark.
///
/// # Errors
/// A server cannot be started, read or stopped.
pub fn run(args: MemoryArgs) -> anyhow::Result<()> {
    let faasrt = peers::faasrt_binary(args.faasrt.as_deref())?;
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    let io = tokio::runtime::Runtime::new()?;
    let mut binaries = vec![("faasrt", faasrt)];
    if let Some(baseline) = &args.baseline {
        binaries.push(("baseline", baseline.clone()));
    }
    let mut readings: BTreeMap<(&str, &str), Vec<Reading>> = BTreeMap::new();
    for run in 0..runs {
        // Alternated within each run, so that a drift of the machine
        // falls on both binaries alike.
        for (label, binary) in &binaries {
            eprintln!("memory: run {} of {runs}, {label}", run + 1);
            for (state, reading) in STATES.iter().zip(io.block_on(one_run(binary))?) {
                readings.entry((label, state)).or_default().push(reading);
            }
        }
    }
    let mut rows = Vec::new();
    for (label, _) in &binaries {
        rows.extend(state_rows(label, &readings));
    }
    set_baseline_ratios(&mut rows);
    let functions = function_rows(&readings);
    print!("{}", report::render(&rows, args.format)?);
    print!("{}", report::render(&functions, args.format)?);
    report::write_files(&rows, &args.out, "memory")?;
    report::write_files(&functions, &args.out, "memory-functions")?;
    let bars: Vec<Bar> = rows
        .iter()
        .map(|row| Bar {
            label: format!("{} {}", row.binary, row.state),
            value: row.vm_rss_mib_p50,
        })
        .collect();
    report::bar_chart(
        &args.out.join("memory.svg"),
        "faasrt serve: VmRSS by state (median)",
        "MiB",
        &bars,
    )?;
    if let Some(deployed) = rows
        .iter()
        .find(|row| row.binary == "faasrt" && row.state == "deployed")
    {
        let verdict = if deployed.vm_rss_mib_p50 <= TARGET_MIB {
            "met"
        } else {
            "not met"
        };
        eprintln!(
            "target: every example deployed, VmRSS p50 {:.1} MiB <= {TARGET_MIB} MiB: {verdict}",
            deployed.vm_rss_mib_p50
        );
    }
    Ok(())
}

/// Each row's VmRSS p50 over the baseline binary's in the same state.
fn set_baseline_ratios(rows: &mut [MemoryRow]) {
    let baseline: BTreeMap<String, f64> = rows
        .iter()
        .filter(|row| row.binary == "baseline")
        .map(|row| (row.state.clone(), row.vm_rss_mib_p50))
        .collect();
    for row in rows {
        row.ratio_to_baseline = baseline
            .get(&row.state)
            .filter(|base| **base > 0.0)
            .map_or(1.0, |base| row.vm_rss_mib_p50 / base);
    }
}

/// Takes one fresh data directory through every state of [`STATES`].
async fn one_run(faasrt: &Path) -> anyhow::Result<Vec<Reading>> {
    let scratch = tempfile::tempdir()?;
    let mut readings = Vec::new();
    let empty = start(faasrt, &scratch.path().join("empty"), &[]).await?;
    readings.push(read(&empty.0, &empty.1).await?);
    stop(empty.0).await?;

    let data_dir = scratch.path().join("examples");
    let (server, http) = start(faasrt, &data_dir, &["--examples"]).await?;
    readings.push(read(&server, &http).await?);
    invoke_every_function(&http).await?;
    readings.push(read(&server, &http).await?);
    stop(server).await?;

    let (server, http) = start(faasrt, &data_dir, &["--examples"]).await?;
    readings.push(read(&server, &http).await?);
    invoke_every_function(&http).await?;
    readings.push(read(&server, &http).await?);
    stop(server).await?;
    Ok(readings)
}

async fn start(
    faasrt: &Path,
    data_dir: &Path,
    flags: &[&str],
) -> anyhow::Result<(ServerProcess, HttpClient)> {
    let server = tokio::task::block_in_place(|| peers::start_faasrt_with(faasrt, data_dir, flags))?;
    let token = std::fs::read_to_string(data_dir.join("token")).context("the server's token")?;
    let http = HttpClient::new(&server, token.trim());
    Ok((server, http))
}

async fn stop(server: ServerProcess) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| server.stop(Duration::from_secs(30)))
}

/// The server's memory now, after a moment to settle, and what each
/// function reports.
async fn read(server: &ServerProcess, http: &HttpClient) -> anyhow::Result<Reading> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in /proc/PID/status"))
    };
    let (code, listing) = http
        .send(Method::GET, "/v1/functions", Bytes::new())
        .await
        .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(code.is_success(), "GET /v1/functions: {code}: {listing}");
    let listing: serde_json::Value = serde_json::from_str(&listing)?;
    let mut functions = BTreeMap::new();
    for function in listing["functions"].as_array().context("functions")? {
        let name = function["name"].as_str().context("name")?.to_owned();
        let kind = function["kind"].as_str().unwrap_or("wasm").to_owned();
        let size = function["size"].as_u64().context("size")?;
        // Builds from before `resident_bytes` count 0.
        let resident = function["resident_bytes"].as_u64().unwrap_or(0);
        functions.insert(name, (kind, size, resident));
    }
    Ok(Reading {
        vm_rss_kib: field("VmRSS:")?,
        rss_anon_kib: field("RssAnon:")?,
        rss_file_kib: field("RssFile:")?,
        functions,
    })
}

/// Invokes every deployed function once with a line of input (`yes`, which
/// writes forever, as `yes | head -n 1`). Any answer counts: a function
/// that refuses the input has still run.
async fn invoke_every_function(http: &HttpClient) -> anyhow::Result<()> {
    let (_, listing) = http
        .send(Method::GET, "/v1/functions", Bytes::new())
        .await
        .map_err(anyhow::Error::msg)?;
    let listing: serde_json::Value = serde_json::from_str(&listing)?;
    let names: Vec<String> = listing["functions"]
        .as_array()
        .context("functions")?
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    for name in names {
        let path = if name == "yes" {
            "/v1/pipelines/run?spec=yes%20%7C%20head%20-n%201".to_owned()
        } else {
            format!("/v1/functions/{name}/invoke?arg=fox")
        };
        let body = Bytes::from_static(b"the quick brown fox\njumps over the lazy dog\n");
        let answer = tokio::time::timeout(
            Duration::from_secs(60),
            http.send(Method::POST, &path, body),
        )
        .await
        .with_context(|| format!("{name} did not answer within 60 s"))?;
        answer.map_err(|error| anyhow::anyhow!("invoking {name}: {error}"))?;
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The median and the largest of `values`.
fn median_and_max(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let max = values.last().copied().unwrap_or(0.0);
    let median = match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    (median, max)
}

fn state_rows(binary: &str, readings: &BTreeMap<(&str, &str), Vec<Reading>>) -> Vec<MemoryRow> {
    let empty_p50 = readings
        .get(&(binary, "empty"))
        .map(|r| median_and_max(r.iter().map(|r| mib(r.vm_rss_kib)).collect()).0)
        .unwrap_or(0.0);
    STATES
        .iter()
        .filter_map(|state| readings.get(&(binary, *state)).map(|r| (state, r)))
        .map(|(state, runs)| {
            let of = |field: fn(&Reading) -> u64| {
                median_and_max(runs.iter().map(|r| mib(field(r))).collect())
            };
            let (rss, rss_max) = of(|r| r.vm_rss_kib);
            let (anon, anon_max) = of(|r| r.rss_anon_kib);
            let (file, _) = of(|r| r.rss_file_kib);
            let resident = median_and_max(
                runs.iter()
                    .map(|r| {
                        r.functions.values().map(|f| f.2).sum::<u64>() as f64 / (1 << 20) as f64
                    })
                    .collect(),
            )
            .0;
            MemoryRow {
                binary: binary.to_owned(),
                state: (*state).to_owned(),
                functions: runs.first().map_or(0, |r| r.functions.len()),
                vm_rss_mib_p50: rss,
                vm_rss_mib_max: rss_max,
                rss_anon_mib_p50: anon,
                rss_anon_mib_max: anon_max,
                rss_file_mib_p50: file,
                resident_mib_p50: resident,
                ratio_to_empty: if empty_p50 > 0.0 {
                    rss / empty_p50
                } else {
                    0.0
                },
                ratio_to_baseline: 1.0,
            }
        })
        .collect()
}

/// The functions of the binary under test (not the baseline's).
fn function_rows(readings: &BTreeMap<(&str, &str), Vec<Reading>>) -> Vec<FunctionRow> {
    let resident_kib = |state: &str, name: &str| {
        let values = readings
            .get(&("faasrt", state))
            .into_iter()
            .flatten()
            .filter_map(|r| r.functions.get(name))
            .map(|f| f.2 as f64 / 1024.0)
            .collect();
        median_and_max(values).0
    };
    let Some(deployed) = readings
        .get(&("faasrt", "deployed"))
        .and_then(|r| r.first())
    else {
        return Vec::new();
    };
    deployed
        .functions
        .iter()
        .map(|(name, (kind, size, _))| FunctionRow {
            function: name.clone(),
            kind: kind.clone(),
            size_kib: *size as f64 / 1024.0,
            deployed_kib_p50: resident_kib("deployed", name),
            invoked_kib_p50: resident_kib("invoked", name),
            restarted_invoked_kib_p50: resident_kib("restarted-invoked", name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median_and_max(vec![3.0, 1.0, 2.0]), (2.0, 3.0));
        assert_eq!(median_and_max(vec![4.0, 1.0, 3.0, 2.0]), (2.5, 4.0));
        assert_eq!(median_and_max(Vec::new()), (0.0, 0.0));
    }

    #[test]
    fn rows_compare_each_state_with_the_empty_server() {
        let reading = |rss: u64, resident: u64| Reading {
            vm_rss_kib: rss * 1024,
            rss_anon_kib: rss * 512,
            rss_file_kib: rss * 512,
            functions: BTreeMap::from([("f".to_owned(), ("wasm".to_owned(), 2048, resident))]),
        };
        let readings = BTreeMap::from([
            (
                ("faasrt", "empty"),
                vec![reading(20, 0), reading(30, 0), reading(40, 0)],
            ),
            (
                ("faasrt", "deployed"),
                vec![reading(90, 1 << 20), reading(60, 3 << 20)],
            ),
            (("baseline", "deployed"), vec![reading(150, 0)]),
        ]);
        let mut rows = state_rows("faasrt", &readings);
        rows.extend(state_rows("baseline", &readings));
        set_baseline_ratios(&mut rows);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].ratio_to_baseline, 0.5);
        assert_eq!(rows[0].ratio_to_baseline, 1.0, "no baseline row for empty");
        assert_eq!(rows[2].binary, "baseline");
        assert_eq!(rows[2].ratio_to_baseline, 1.0);
        assert_eq!(rows[0].state, "empty");
        assert_eq!(rows[0].vm_rss_mib_p50, 30.0);
        assert_eq!(rows[1].vm_rss_mib_p50, 75.0);
        assert_eq!(rows[1].vm_rss_mib_max, 90.0);
        assert_eq!(rows[1].ratio_to_empty, 2.5);
        assert_eq!(rows[1].resident_mib_p50, 2.0);
        let functions = function_rows(&readings);
        assert_eq!(functions.len(), 1);
        assert_eq!(functions[0].deployed_kib_p50, 2048.0);
        assert_eq!(functions[0].size_kib, 2.0);
    }
}
