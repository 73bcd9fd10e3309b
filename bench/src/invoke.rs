//! `faasrt-bench invoke`: the cost of one invocation of `hello`, in process
//! and over HTTP, against wasmtime's own ways of running the same thing.
//!
//! Cases, all in one run:
//! - `inprocess-invoke`: `Runtime::invoke` of `hello`, one at a time;
//!   baseline `wasmtime-run-process` (the peer `wasmtime run` of the same
//!   module, precompiled, as a new process per invocation).
//! - `faasrt-http` at 1 and 32 connections: `POST /v1/functions/hello/invoke`
//!   to `faasrt serve`; baseline `wasmtime-serve` (a wasi:http hello
//!   component under `wasmtime serve`) at the same connection count, driven
//!   by the same load generator.
//! - `hyper-floor` at the same connection counts: a bare hyper server in the
//!   bench process that answers faasrt's bytes for the same request with no
//!   guest behind it (`hyper_floor`), driven by the same generator. Every
//!   HTTP row also gives its ratio to the floor at its connection count
//!   (`floor_ratio_p50`, `floor_ratio_req_per_s`; 1.00 for the floor itself):
//!   the share of hyper and loopback TCP's own speed that it keeps.

use crate::hyper_floor::{self, FloorServer};
use crate::load::{self, LoadSpec};
use crate::peers::{self, WasmtimePeer};
use crate::report::{self, Bar, Format, Row};
use crate::stats::Samples;
use anyhow::Context;
use bytes::Bytes;
use faasrt_runtime::{InvokeRequest, Runtime, RuntimeConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `faasrt-bench invoke`.
#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// A short run (under a minute) with fewer samples.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/invoke")]
    pub out: PathBuf,
    /// The faasrt binary to serve with (default: next to this one).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
    /// Skip the wasmtime peers even if installed.
    #[arg(long)]
    pub no_peer: bool,
    /// Run only these cases (repeatable): `inprocess-invoke`,
    /// `faasrt-http`, `hyper-floor`, `wasmtime-run-process`, `wasmtime-serve`; all
    /// of them when not given. Ratios need their baseline in the same run.
    #[arg(long)]
    pub only: Vec<String>,
    /// Invocations of the in-process case (default 50 000, 5 000 with
    /// `--quick`): more for a profile.
    #[arg(long)]
    pub inprocess_n: Option<u64>,
}

impl InvokeArgs {
    fn runs(&self, case: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == case)
    }
}

/// One result row.
#[derive(Debug, Serialize)]
pub struct InvokeRow {
    case: String,
    connections: usize,
    n: u64,
    req_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    baseline: String,
    /// Baseline p50 over this p50: how many times faster this case is.
    speedup_p50: Option<f64>,
    /// This throughput over the baseline's.
    speedup_req_per_s: Option<f64>,
    /// The `hyper-floor` p50 over this p50 at the same connection count:
    /// below 1 for anything that does more than the floor.
    floor_ratio_p50: Option<f64>,
    /// This throughput over the `hyper-floor` throughput at the same
    /// connection count.
    floor_ratio_req_per_s: Option<f64>,
}

impl Row for InvokeRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "connections",
            "n",
            "req_per_s",
            "p50_us",
            "p99_us",
            "max_us",
            "baseline",
            "speedup_p50",
            "speedup_req_per_s",
            "floor_ratio_p50",
            "floor_ratio_req_per_s",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let ratio = |r: Option<f64>| r.map_or("n/a".to_owned(), |r| format!("{r:.2}"));
        vec![
            self.case.clone(),
            self.connections.to_string(),
            self.n.to_string(),
            format!("{:.0}", self.req_per_s),
            format!("{:.1}", self.p50_us),
            format!("{:.1}", self.p99_us),
            format!("{:.1}", self.max_us),
            self.baseline.clone(),
            ratio(self.speedup_p50),
            ratio(self.speedup_req_per_s),
            ratio(self.floor_ratio_p50),
            ratio(self.floor_ratio_req_per_s),
        ]
    }
}

struct Measured {
    case: &'static str,
    connections: usize,
    samples: Samples,
    req_per_s: f64,
}

struct Plan {
    inprocess_n: u64,
    process_n: u64,
    warmup: Duration,
    duration: Duration,
}

const HELLO_OUTPUT: &[u8] = b"Hello, world!\n";

/// The case every HTTP row is set against.
const FLOOR_CASE: &str = "hyper-floor";

/// The cases served over HTTP, which get a ratio to the floor.
const HTTP_CASES: [&str; 3] = ["faasrt-http", FLOOR_CASE, "wasmtime-serve"];

/// The connection counts of every HTTP case.
const CONNECTION_COUNTS: [usize; 2] = [1, 32];

/// Runs the benchmark and prints/writes its results.
pub fn run(args: InvokeArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        Plan {
            inprocess_n: 5_000,
            process_n: 30,
            warmup: Duration::from_millis(500),
            duration: Duration::from_secs(3),
        }
    } else {
        Plan {
            inprocess_n: 50_000,
            process_n: 200,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
        }
    };
    let peer = if args.no_peer {
        None
    } else {
        match WasmtimePeer::find(&peers::peer_cache()) {
            Ok(peer) => Some(peer),
            Err(error) => {
                eprintln!("note: {error:#}; peer rows are left out");
                None
            }
        }
    };
    let faasrt = peers::faasrt_binary(args.faasrt.as_deref())?;
    let http_steps = CONNECTION_COUNTS.len() as u64;
    let steps = 1 + 2 * http_steps + if peer.is_some() { 1 + http_steps } else { 0 };
    let progress = ProgressBar::new(steps).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
    );
    let mut measured = Vec::new();

    if args.runs("inprocess-invoke") {
        progress.set_message("in-process invoke");
        measured.push(inprocess(args.inprocess_n.unwrap_or(plan.inprocess_n))?);
    }
    progress.inc(1);

    let scratch = tempfile::tempdir()?;
    if let Some(peer) = peer.as_ref().filter(|_| args.runs("wasmtime-run-process")) {
        progress.set_message("wasmtime run as a process");
        measured.push(wasmtime_run(peer, scratch.path(), plan.process_n)?);
        progress.inc(1);
    }

    if args.runs("faasrt-http") {
        let server = peers::start_faasrt(&faasrt, &scratch.path().join("faasrt-data"))?;
        let target = HttpTarget {
            case: "faasrt-http",
            addr: server.addr,
            path: hyper_floor::INVOKE_PATH,
        };
        measured.extend(load_at_each_connection_count(&target, &plan, &progress)?);
    }
    if args.runs(FLOOR_CASE) {
        let server = FloorServer::start(hyper_floor::faasrt_serve_worker_threads())
            .context("starting the hyper floor")?;
        let target = HttpTarget {
            case: FLOOR_CASE,
            addr: server.addr(),
            path: hyper_floor::INVOKE_PATH,
        };
        measured.extend(load_at_each_connection_count(&target, &plan, &progress)?);
    }
    if let Some(peer) = peer.as_ref().filter(|_| args.runs("wasmtime-serve")) {
        let server = peer.serve()?;
        let target = HttpTarget {
            case: "wasmtime-serve",
            addr: server.addr,
            path: "/",
        };
        measured.extend(load_at_each_connection_count(&target, &plan, &progress)?);
    }
    progress.finish_and_clear();

    let rows = rows(&measured);
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "invoke")?;
    let bars: Vec<Bar> = measured
        .iter()
        .filter(|m| HTTP_CASES.contains(&m.case))
        .map(|m| Bar {
            label: format!("{} c={}", m.case, m.connections),
            value: m.req_per_s,
        })
        .collect();
    report::bar_chart(
        &args.out.join("invoke-http.svg"),
        "hello over HTTP: requests per second",
        "requests/s",
        &bars,
    )?;
    eprintln!(
        "wrote {}/invoke.{{csv,json}} and invoke-http.svg",
        args.out.display()
    );
    Ok(())
}

/// A server under HTTP load: the case name, where it listens, what to POST.
struct HttpTarget {
    case: &'static str,
    addr: std::net::SocketAddr,
    path: &'static str,
}

/// Drives `target` with each of [`CONNECTION_COUNTS`] in turn.
fn load_at_each_connection_count(
    target: &HttpTarget,
    plan: &Plan,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Measured>> {
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut measured = Vec::new();
    for connections in CONNECTION_COUNTS {
        progress.set_message(format!("{}, {connections} connections", target.case));
        let spec = LoadSpec {
            addr: target.addr,
            path: target.path.into(),
            body: Bytes::new(),
            expected_body: Bytes::from_static(HELLO_OUTPUT),
            connections,
            warmup: plan.warmup,
            duration: plan.duration,
        };
        let result = io
            .block_on(load::run(&spec))
            .with_context(|| format!("load on {}", target.case))?;
        measured.push(Measured {
            case: target.case,
            connections,
            samples: result.samples,
            req_per_s: result.requests_per_second,
        });
        progress.inc(1);
    }
    Ok(measured)
}

/// One row per measured case, with its ratios to its baseline and to the
/// floor measured in the same run.
fn rows(measured: &[Measured]) -> Vec<InvokeRow> {
    let find = |case: &str, connections: usize| {
        measured
            .iter()
            .find(|m| m.case == case && m.connections == connections)
    };
    measured
        .iter()
        .map(|m| {
            let baseline = match m.case {
                "inprocess-invoke" => Some("wasmtime-run-process"),
                "faasrt-http" => Some("wasmtime-serve"),
                _ => None,
            };
            let base = baseline.and_then(|b| find(b, m.connections));
            let floor = if HTTP_CASES.contains(&m.case) {
                find(FLOOR_CASE, m.connections)
            } else {
                None
            };
            let p50 = m.samples.quantile_us(0.5);
            InvokeRow {
                case: m.case.to_owned(),
                connections: m.connections,
                n: m.samples.len(),
                req_per_s: m.req_per_s,
                p50_us: p50,
                p99_us: m.samples.quantile_us(0.99),
                max_us: m.samples.max_us(),
                baseline: baseline.unwrap_or("-").to_owned(),
                speedup_p50: base.map(|b| b.samples.quantile_us(0.5) / p50),
                speedup_req_per_s: base.map(|b| m.req_per_s / b.req_per_s),
                floor_ratio_p50: floor.map(|f| f.samples.quantile_us(0.5) / p50),
                floor_ratio_req_per_s: floor.map(|f| m.req_per_s / f.req_per_s),
            }
        })
        .collect()
}

/// `Runtime::invoke` of `hello`, sequentially, after a warm-up.
fn inprocess(n: u64) -> anyhow::Result<Measured> {
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    io.block_on(async {
        let runtime = Runtime::open(RuntimeConfig::in_memory())?;
        let hello = faasrt_example_artifacts::get("hello").context("hello example")?;
        runtime
            .deploy("hello", Bytes::from_static(hello.wasm), Default::default())
            .await?;
        for _ in 0..n / 10 {
            runtime.invoke("hello", InvokeRequest::default()).await?;
        }
        let mut samples = Samples::new();
        let started = Instant::now();
        for _ in 0..n {
            let sent = Instant::now();
            let invocation = runtime.invoke("hello", InvokeRequest::default()).await?;
            samples.record(sent.elapsed());
            anyhow::ensure!(&invocation.output[..] == HELLO_OUTPUT, "wrong output");
        }
        let req_per_s = n as f64 / started.elapsed().as_secs_f64();
        Ok(Measured {
            case: "inprocess-invoke",
            connections: 1,
            samples,
            req_per_s,
        })
    })
}

/// The peer `wasmtime run` of the precompiled `hello`, one process each.
fn wasmtime_run(
    peer: &WasmtimePeer,
    scratch: &std::path::Path,
    n: u64,
) -> anyhow::Result<Measured> {
    let hello = faasrt_example_artifacts::get("hello").context("hello example")?;
    let wasm = scratch.join("hello.wasm");
    let cwasm = scratch.join("hello.cwasm");
    std::fs::write(&wasm, hello.wasm)?;
    peer.precompile(&wasm, &cwasm)?;
    let mut samples = Samples::new();
    let started = Instant::now();
    for _ in 0..n {
        let sent = Instant::now();
        let output = Command::new(&peer.wasmtime)
            .args(["run", "--allow-precompiled"])
            .arg(&cwasm)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()?;
        samples.record(sent.elapsed());
        anyhow::ensure!(
            output.stdout == HELLO_OUTPUT,
            "wasmtime run printed something else"
        );
    }
    Ok(Measured {
        case: "wasmtime-run-process",
        connections: 1,
        samples,
        req_per_s: n as f64 / started.elapsed().as_secs_f64(),
    })
}
