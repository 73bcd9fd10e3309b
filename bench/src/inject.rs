//! `faasrt-bench load` (this module is `inject`, beside `load.rs`, the
//! benchmarks' own HTTP load helpers): whether `faasrt-load`'s open-loop injector keeps up
//! with what `faasrt serve` sustains on the same machine, the server on
//! all CPUs but the first and the injector on the first. A closed loop of
//! 32 clients against `hello` measures the most the server serves (the
//! baseline, in the same run); then open-loop schedules at fractions of
//! that rate, evenly spaced, each for the same time, report how many were
//! sent, how late (send lag, from the scheduled time) and the latency seen
//! from the scheduled time, with the injector's CPU use. The sustainable
//! open-loop rate is the highest offered rate whose run sent everything
//! with a p99 send lag under 1 ms. Then the injector alone (`null-target`:
//! nothing is invoked, every invocation is answered at once) at up to
//! 1 M/s on its one CPU, and `hello` in process (`in-process`: the runtime
//! as a library on the injector's CPU, no server, no HTTP).

use crate::peers;
use crate::report::{self, Format, Row};
use anyhow::Context;
use faasrt_load::cpus::{parse_cpu_list, pin_to};
use faasrt_load::synthetic::{FunctionLoad, Process, Rate, Spec};
use faasrt_load::{
    ClosedLoop, HttpTarget, InjectOptions, Mapping, NullTarget, Percentiles, Run, RuntimeTarget,
    Schedule, run_closed_loop, run_http, run_open_loop,
};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// A p99 send lag at most this long counts as keeping up.
const LAG_BOUND_US: f64 = 1_000.0;

/// Options of `faasrt-bench load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The faasrt binary under test (default: `$FAASRT_BIN`, else the one
    /// next to this benchmark).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
    /// Short phases and two rates.
    #[arg(long)]
    pub quick: bool,
    /// CPUs for the server (default: all but the first when there are at
    /// least two).
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// CPUs for the injector (default: the first when there are at least
    /// two).
    #[arg(long)]
    pub injector_cpus: Option<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV and JSON output.
    #[arg(long, default_value = "bench-out/load")]
    pub out: PathBuf,
}

/// One phase of the run.
#[derive(Debug, Serialize)]
struct LoadRow {
    case: &'static str,
    offered_per_s: f64,
    achieved_per_s: f64,
    ratio_to_closed_loop: f64,
    scheduled: u64,
    sent: u64,
    failed: u64,
    send_lag_p50_us: f64,
    send_lag_p99_us: f64,
    latency_p50_us: f64,
    latency_p99_us: f64,
    injector_cpu_pct: f64,
    result: String,
}

impl Row for LoadRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "offered_per_s",
            "achieved_per_s",
            "ratio_to_closed_loop",
            "scheduled",
            "sent",
            "failed",
            "send_lag_p50_us",
            "send_lag_p99_us",
            "latency_p50_us",
            "latency_p99_us",
            "injector_cpu_pct",
            "result",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.case.into(),
            format!("{:.0}", self.offered_per_s),
            format!("{:.0}", self.achieved_per_s),
            format!("{:.2}", self.ratio_to_closed_loop),
            self.scheduled.to_string(),
            self.sent.to_string(),
            self.failed.to_string(),
            format!("{:.1}", self.send_lag_p50_us),
            format!("{:.1}", self.send_lag_p99_us),
            format!("{:.1}", self.latency_p50_us),
            format!("{:.1}", self.latency_p99_us),
            format!("{:.0}", self.injector_cpu_pct),
            self.result.clone(),
        ]
    }
}

/// Runs the benchmark.
pub fn run(args: LoadArgs) -> anyhow::Result<()> {
    let (seconds, fractions): (f64, &[f64]) = if args.quick {
        (2.0, &[0.5, 0.9])
    } else {
        (10.0, &[0.25, 0.5, 0.75, 0.9, 1.0, 1.2])
    };
    let binary = peers::faasrt_binary(args.faasrt.as_deref())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let split =
        |explicit: &Option<String>, default: Vec<usize>| -> anyhow::Result<Option<Vec<usize>>> {
            match explicit {
                Some(list) => Ok(Some(parse_cpu_list(list)?)),
                None if cores >= 2 => Ok(Some(default)),
                None => Ok(None),
            }
        };
    let server_cpus = split(&args.server_cpus, (1..cores).collect())?;
    let injector_cpus = split(&args.injector_cpus, vec![0])?;
    let data = tempfile::tempdir()?;
    let server = peers::start_faasrt_on(&binary, data.path(), &[], server_cpus.as_deref())?;
    if let Some(cpus) = &injector_cpus {
        pin_to(cpus)?;
    }
    eprintln!(
        "load: server on CPUs {server_cpus:?}, injector on {injector_cpus:?} (None: unpinned)"
    );
    let token = std::fs::read_to_string(data.path().join("token")).context("the server's token")?;
    deploy_hello(&server, token.trim())?;
    let target = HttpTarget {
        addr: server.addr,
        token: None,
    };
    let options = InjectOptions::default();

    let closed = ClosedLoop {
        functions: vec!["hello".into()],
        clients: 32,
        duration: Duration::from_secs_f64(seconds),
        input: Default::default(),
    };
    let baseline = run_closed_loop(&closed, &target, &options)?;
    let max_rate = baseline.records.len() as f64 / baseline.wall.as_secs_f64();
    let mut rows = vec![row("closed-loop-32", max_rate, &baseline, max_rate, None)];

    let mapping = Mapping::new(&[], vec!["hello".into()])?;
    let mut sustainable = 0.0f64;
    for &fraction in fractions {
        let rate = (max_rate * fraction).round();
        let schedule = hello_at(rate, seconds);
        let run = run_http(&schedule, &mapping, &target, &options)?;
        let row = row("open-loop", rate, &run, max_rate, Some(&schedule));
        if row.result == "kept up" {
            sustainable = sustainable.max(rate);
        }
        rows.push(row);
    }
    drop(server);

    // The injector alone, then the runtime in process, on the injector's
    // CPU only.
    let hello: Vec<std::sync::Arc<str>> = vec!["hello".into()];
    let null_rates: &[f64] = if args.quick {
        &[1_000_000.0]
    } else {
        &[250_000.0, 500_000.0, 1_000_000.0]
    };
    for &rate in null_rates {
        let schedule = hello_at(rate, seconds.min(5.0));
        let run = run_open_loop(&schedule, &hello, &options, |_| NullTarget)?;
        rows.push(row("null-target", rate, &run, max_rate, Some(&schedule)));
    }
    let runtime = faasrt_runtime::Runtime::open(faasrt_runtime::RuntimeConfig::in_memory())?;
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let wasm = faasrt_example_artifacts::get("hello")
        .context("the hello example")?
        .wasm;
    io.block_on(runtime.deploy("hello", bytes::Bytes::from_static(wasm), Default::default()))?;
    let in_process_rates: &[f64] = if args.quick {
        &[20_000.0]
    } else {
        &[20_000.0, 40_000.0, 60_000.0]
    };
    for &rate in in_process_rates {
        let schedule = hello_at(rate, seconds);
        let run = run_open_loop(&schedule, &hello, &options, |_| RuntimeTarget {
            runtime: runtime.clone(),
            functions: hello.clone(),
        })?;
        rows.push(row("in-process", rate, &run, max_rate, Some(&schedule)));
    }
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "load")?;
    eprintln!(
        "sustainable open-loop rate: {sustainable:.0}/s, {:.2} of the closed loop's {max_rate:.0}/s (send lag p99 <= {LAG_BOUND_US} us, everything sent)",
        sustainable / max_rate
    );
    Ok(())
}

/// A schedule of `hello` at `rate` per second, evenly spaced, for
/// `seconds`.
fn hello_at(rate: f64, seconds: f64) -> Schedule {
    Spec {
        duration_s: seconds,
        seed: 1,
        functions: vec![FunctionLoad {
            function: "hello".into(),
            rate: Some(Rate::Constant(rate)),
            arrivals: Process::Regular,
            bursts: None,
            active: None,
            input: None,
            duration_ms: None,
            memory_mb: None,
            output_bytes: None,
        }],
    }
    .schedule()
}

/// The row of one phase: an open-loop run of `schedule`, or the closed-loop
/// baseline for `None`.
fn row(
    case: &'static str,
    offered: f64,
    run: &Run,
    max_rate: f64,
    schedule: Option<&Schedule>,
) -> LoadRow {
    let scheduled = schedule.map(|s| s.entries().len() as u64);
    let succeeded = run.records.iter().filter(|r| r.succeeded()).count() as u64;
    let sent = run.records.len() as u64;
    let lag = Percentiles::of(run.records.iter().map(|r| r.send_lag_ns()));
    let latency = Percentiles::of(
        run.records
            .iter()
            .filter(|r| r.succeeded())
            .map(|r| r.latency_ns()),
    );
    let achieved = succeeded as f64 / run.wall.as_secs_f64();
    let result = match (&run.aborted, &run.warning) {
        (Some(_), _) => "stopped: fell behind".to_owned(),
        (None, Some(_)) => "warned: fell behind".to_owned(),
        (None, None) => match scheduled {
            None => "baseline".to_owned(),
            Some(scheduled) if sent < scheduled || lag.p99_us > LAG_BOUND_US => "late".to_owned(),
            Some(_) => "kept up".to_owned(),
        },
    };
    LoadRow {
        case,
        offered_per_s: offered,
        achieved_per_s: achieved,
        ratio_to_closed_loop: achieved / max_rate,
        scheduled: scheduled.unwrap_or(sent),
        sent,
        failed: sent - succeeded,
        send_lag_p50_us: lag.p50_us,
        send_lag_p99_us: lag.p99_us,
        latency_p50_us: latency.p50_us,
        latency_p99_us: latency.p99_us,
        injector_cpu_pct: 100.0 * run.process_cpu.as_secs_f64() / run.wall.as_secs_f64(),
        result,
    }
}

fn deploy_hello(server: &peers::ServerProcess, token: &str) -> anyhow::Result<()> {
    let wasm = faasrt_example_artifacts::get("hello")
        .context("the hello example")?
        .wasm;
    let http = crate::http_client::HttpClient::new(server, token);
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    io.block_on(http.must(
        hyper::Method::PUT,
        "/v1/functions/hello",
        bytes::Bytes::from_static(wasm),
    ))
}
