//! `faasrt-load`: workload injection for faasrt. `faasrt-load schedule`
//! turns a trace into the run's schedule, saved as CSV; `faasrt-load run`
//! sends a schedule to a server, open loop, and writes one record per
//! invocation.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use faasrt_load::trace::{azure2019, azure2021, faasload, huawei2025};
use faasrt_load::{ArrivalLaw, Schedule, Spread};
use std::path::PathBuf;

mod run;
mod sweep;

/// faasrt-load: trace replay and workload injection for faasrt.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a run's schedule from a trace and save it as CSV
    /// (`scheduled_ns,function,input`).
    Schedule(ScheduleArgs),
    /// Send a schedule (a saved one, or one generated from a trace) to a
    /// faasrt server, open loop, and write the run directory.
    Run(Box<RunArgs>),
    /// Keep a number of clients sending back to back for a time (closed
    /// loop): the most a server sustains.
    Closed(ClosedArgs),
    /// Sweep every function x input x parameter values of a spec, each
    /// invocation alone (FaaSLoad's generator mode), checkpointed: write
    /// `dataset.{csv,parquet}`.
    Dataset(DatasetArgs),
}

#[derive(Args)]
struct DatasetArgs {
    /// The sweep's spec (JSON, or TOML for `*.toml`; docs/load.md).
    #[arg(long)]
    spec: PathBuf,
    /// Go on with the sweep the run directory holds, from its checkpoint.
    #[arg(long)]
    resume: bool,
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    target: std::net::SocketAddr,
    /// The server's token file, for a server run with `--auth-all`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Seconds one invocation may take.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Run the faasrt runtime inside the injector (no server): the
    /// functions are those of `--module`.
    #[arg(long, requires = "modules")]
    in_process: bool,
    /// A function for `--in-process`: `NAME=FILE.wasm` (repeatable).
    #[arg(long = "module", value_name = "NAME=FILE")]
    modules: Vec<faasrt_load::ModuleArg>,
    /// The run directory (rows.jsonl and checkpoint.json while it runs,
    /// then dataset.csv and dataset.parquet).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ClosedArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// A function to invoke (repeatable; each client takes them in turn).
    #[arg(long = "function")]
    functions: Vec<String>,
    /// Clients, each with one invocation in flight.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds to keep sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The input of every invocation.
    #[arg(long)]
    input: Option<String>,
    /// The run directory (invocations.csv, summary.json).
    #[arg(long)]
    out: PathBuf,
}

/// The server to send to and how the injector runs: what `run` and
/// `closed` share.
#[derive(Args)]
struct ConnectArgs {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    target: std::net::SocketAddr,
    /// The server's token file, for a server run with `--auth-all`
    /// (`<data-dir>/token`).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Async worker threads for the requests.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Keep-alive connections each sending thread opens before the run
    /// starts, and the most requests it has on the wire: a request beyond
    /// them waits for a free one, its wait in its latency (opening more
    /// mid-run makes a busy server fall behind).
    #[arg(long, default_value_t = 128)]
    connections: usize,
    /// Pin the injector to these CPUs (`0`, `0,2`, `0-3`), away from the
    /// server's.
    #[arg(long)]
    cpus: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// A schedule written by `faasrt-load schedule`.
    #[arg(long, conflicts_with_all = ["azure2019", "azure2021", "huawei2025", "faasload", "synthetic"])]
    schedule: Option<PathBuf>,
    #[command(flatten)]
    generate: GenerateArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    /// A deployed function the trace functions are shared out to
    /// (repeatable; by a stable hash of the trace id).
    #[arg(long = "function")]
    functions: Vec<String>,
    /// A trace function's own deployed function, `TRACE_ID=FUNCTION`
    /// (repeatable).
    #[arg(long = "map")]
    pairs: Vec<String>,
    /// Every trace function is played by this deployed function, the
    /// synthetic example (`synthetic`), calibrated before the run: each
    /// invocation spins for its duration, touches its memory and answers
    /// its bytes (the schedule's demands).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["functions", "pairs", "null_target"])]
    synthetic_function: Option<String>,
    /// Scale every demand's memory by this factor (a trace's apps of
    /// 100-300 MB on a machine that cannot hold them all at once).
    #[arg(long, default_value_t = 1.0, requires = "synthetic_function")]
    memory_scale: f64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Do not follow the server's journal (the server's columns of
    /// invocations.csv).
    #[arg(long)]
    no_journal: bool,
    /// Do not follow the server's platform series (platform.csv).
    #[arg(long)]
    no_platform: bool,
    /// Run the faasrt runtime inside the injector, in memory, and invoke
    /// it as a library (no server, no HTTP; `--target` is not used): the
    /// functions are those of `--module`.
    #[arg(long, requires = "modules", conflicts_with = "null_target")]
    in_process: bool,
    /// A function for `--in-process`: `NAME=FILE.wasm` (repeatable).
    #[arg(long = "module", value_name = "NAME=FILE")]
    modules: Vec<faasrt_load::ModuleArg>,
    /// Send nothing: every invocation is answered at once with an empty 200.
    /// Measures what the injector alone can issue.
    #[arg(long)]
    null_target: bool,
    /// The run directory (schedule.csv, invocations.{csv,parquet},
    /// platform.{csv,parquet}, latency.hgrm, the SVG plots, manifest.json,
    /// summary.json).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
#[group(id = "source", multiple = false)]
struct Source {
    /// An Azure Functions 2019 invocations file
    /// (`invocations_per_function_md.anon.dNN.csv`).
    #[arg(long, group = "source")]
    azure2019: Option<PathBuf>,
    /// An Azure Functions 2021 trace (`app,func,end_timestamp,duration`).
    #[arg(long, group = "source")]
    azure2021: Option<PathBuf>,
    /// A Huawei Cloud 2025 per-request table (CSV; columns by name).
    #[arg(long, group = "source")]
    huawei2025: Option<PathBuf>,
    /// FaaSLoad per-user trace files (repeatable); each file's stem names
    /// its function.
    #[arg(long, group = "source")]
    faasload: Vec<PathBuf>,
    /// A synthetic workload spec (JSON; docs/load.md).
    #[arg(long, group = "source")]
    synthetic: Option<PathBuf>,
}

#[derive(Args)]
struct ScheduleArgs {
    #[command(flatten)]
    generate: GenerateArgs,
    /// Where to write the schedule.
    #[arg(long)]
    out: PathBuf,
}

/// A trace and how to turn it into a schedule.
#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    source: Source,
    /// How a minute's invocations are spread over it (Azure 2019).
    #[arg(long, value_enum, default_value = "poisson")]
    law: ArrivalLaw,
    /// Shift each function's arrivals by a random phase of its own.
    #[arg(long)]
    shift: bool,
    /// The seed every function's generator is drawn from.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first minute of the trace to replay, from 1 (Azure 2019).
    #[arg(long, default_value_t = 1)]
    from_minute: usize,
    /// How many minutes to replay (Azure 2019; default: to the end).
    #[arg(long)]
    minutes: Option<usize>,
    /// Replay only the first this many seconds (Azure 2021, Huawei 2025).
    #[arg(long)]
    seconds: Option<f64>,
    /// The same day's `function_durations_percentiles.anon.dNN.csv`
    /// (Azure 2019): each invocation draws its duration from its
    /// function's percentiles, for `--synthetic-function`.
    #[arg(long, requires = "azure2019")]
    durations: Option<PathBuf>,
    /// The same day's `app_memory_percentiles.anon.dNN.csv` (Azure 2019):
    /// each invocation draws its memory from its application's.
    #[arg(long, requires = "azure2019")]
    memory: Option<PathBuf>,
    /// Cut the trace's window down to this many invocations per second
    /// (Azure 2019), and write how representative the sample stays
    /// (`downscale.json`).
    #[arg(long)]
    target_rate: Option<f64>,
    /// How to cut it: keep whole functions sampled per popularity stratum,
    /// or thin every function's counts.
    #[arg(long, value_enum, default_value = "sample-functions")]
    downscale: faasrt_load::downscale::Method,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Schedule(args) => {
            let (schedule, requested) = generate(&args.generate, Some(&args.out))?;
            save_schedule(&schedule, requested, &args.out)
        }
        Command::Run(args) => run::run(*args),
        Command::Closed(args) => run::closed(args),
        Command::Dataset(args) => sweep::dataset(args),
    }
}

/// Prints the down-scaling's report and writes it as JSON.
fn report_downscale(
    report: &faasrt_load::downscale::Representativeness,
    near: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let path = match near {
        Some(schedule) => schedule.with_extension("downscale.json"),
        None => std::path::PathBuf::from("downscale.json"),
    };
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "down-scaled ({}): {} of {} functions, {:.1} of {:.1} invocations/s; per-function rates KS {:.3}, per-minute correlation {:.3}, triggers within {:.1} points; {}",
        report.method,
        report.functions.1,
        report.functions.0,
        report.per_s.1,
        report.per_s.0,
        report.function_rate_ks,
        report.per_minute_correlation,
        report.trigger_share_max_diff * 100.0,
        path.display()
    );
    Ok(())
}

fn save_schedule(schedule: &Schedule, requested: u64, out: &std::path::Path) -> anyhow::Result<()> {
    schedule
        .write_csv(out)
        .with_context(|| format!("writing {}", out.display()))?;
    let summary = schedule.summary(requested);
    println!(
        "{}: {} invocations of {} functions over {:.1} s (peak {} per second); the trace asks for {}",
        out.display(),
        summary.scheduled,
        summary.functions,
        summary.span_s,
        summary.peak_per_s,
        summary.requested
    );
    if summary.requested > 0 {
        let divergence =
            (summary.scheduled as f64 - summary.requested as f64).abs() / summary.requested as f64;
        if divergence > 0.10 {
            eprintln!(
                "warning: the schedule differs from the trace by {:.0}% (a Poisson law draws its counts; --law uniform keeps them)",
                divergence * 100.0
            );
        }
    }
    Ok(())
}

/// The schedule `args` describe, and how many invocations the trace asks
/// for in it. A down-scaled trace's report is written next to `near` (a
/// schedule file: `<near>.downscale.json`) or into the run directory.
fn generate(
    args: &GenerateArgs,
    near: Option<&std::path::Path>,
) -> anyhow::Result<(Schedule, u64)> {
    anyhow::ensure!(args.from_minute >= 1, "--from-minute counts from 1");
    anyhow::ensure!(
        args.target_rate.is_none() || args.source.azure2019.is_some(),
        "--target-rate cuts an Azure Functions 2019 trace (--azure2019)"
    );
    let (schedule, requested) = if let Some(path) = &args.source.azure2019 {
        let mut rows = azure2019::read_invocations(path)?;
        let mut start = args.from_minute - 1;
        let mut end = args.minutes.map_or(usize::MAX, |m| start.saturating_add(m));
        if let Some(per_s) = args.target_rate {
            anyhow::ensure!(
                per_s.is_finite() && per_s > 0.0,
                "--target-rate must be a positive number of invocations per second"
            );
            let target = faasrt_load::downscale::Target {
                per_s,
                method: args.downscale,
                seed: args.seed,
            };
            let cut = faasrt_load::downscale::downscale(&rows, start..end, target);
            report_downscale(&cut.report, near)?;
            rows = cut.rows;
            (start, end) = (0, usize::MAX);
        }
        let requested = rows
            .iter()
            .map(|row| {
                let end = end.min(row.per_minute.len());
                row.per_minute[start.min(end)..end]
                    .iter()
                    .map(|&c| u64::from(c))
                    .sum::<u64>()
            })
            .sum();
        let spread = Spread {
            law: args.law,
            shift: args.shift,
        };
        let mut schedule = Schedule::from_minute_counts(&rows, start..end, spread, args.seed);
        if args.durations.is_some() || args.memory.is_some() {
            let durations = match &args.durations {
                Some(path) => azure2019::read_durations(path)?,
                None => Vec::new(),
            };
            let memory = match &args.memory {
                Some(path) => azure2019::read_memory(path)?,
                None => Vec::new(),
            };
            let assigned = faasrt_load::demand::azure2019::assign(
                &mut schedule,
                &durations,
                &memory,
                args.seed,
            );
            println!(
                "demands: {} of {} functions with their own durations, {} with their application's memory (the rest draw from the files' medians)",
                assigned.own_durations, assigned.functions, assigned.own_memory
            );
        }
        (schedule, requested)
    } else if let Some(path) = &args.source.huawei2025 {
        let rows = huawei2025::read_requests(path)?;
        let schedule = Schedule::from_requests(
            rows.iter()
                .map(|row| (row.function.id(), row.arrival_s, Some(row.demand))),
            args.seconds,
        );
        let requested = schedule.entries().len() as u64;
        (schedule, requested)
    } else if let Some(path) = &args.source.azure2021 {
        let rows = azure2021::read_invocations(path)?;
        let schedule = Schedule::from_invocations(&rows, args.seconds);
        let requested = schedule.entries().len() as u64;
        (schedule, requested)
    } else if !args.source.faasload.is_empty() {
        let traces = args
            .source
            .faasload
            .iter()
            .map(|path| {
                let name = path.file_stem().and_then(|s| s.to_str()).with_context(|| {
                    format!("{}: no file name to name its function", path.display())
                })?;
                Ok((name.to_owned(), faasload::read_entries(path)?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let schedule = Schedule::from_faasload(&traces);
        let requested = schedule.entries().len() as u64;
        (schedule, requested)
    } else if let Some(path) = &args.source.synthetic {
        let schedule = faasrt_load::synthetic::Spec::read(path)?.schedule();
        let requested = schedule.entries().len() as u64;
        (schedule, requested)
    } else {
        anyhow::bail!(
            "no workload: give --azure2019, --azure2021, --huawei2025, --faasload or --synthetic"
        );
    };
    Ok((schedule, requested))
}
