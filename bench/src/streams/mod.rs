//! `faasrt-bench streams`: long-running streams, against the same chain
//! with Redis Streams (`redis_chain`) and with NATS JetStream
//! (`nats_chain`) on its edges, all in one run:
//!
//! - `stateless`: 100-byte records through `cat` (1 and 2 replicas, and 2
//!   pinned to a core each), records/s (wall) and records per CPU-second
//!   (per core);
//! - `redis-streams-chain` and `nats-jetstream-chain`: the broker baselines
//!   of the same shape (file storage for JetStream, its durable default);
//! - `keyed`: `cat | word-count` keyed on Zipf keys, checkpoints every 1 s
//!   and every 100 ms, against the same without checkpoints but the final
//!   one (the overhead);
//! - `commit`: one epoch commit with 10k dirty keys, against one with 1;
//! - `recovery`: detection of a trap and the time back to committed
//!   output; and the same with 1 MB to 1 GB of state in the keyed stage
//!   (`recovery_state`; 1 and 10 MB with --quick), plotted;
//! - `hop-at-50pct-load`: the latency of the hop between two `cat` stages
//!   while records arrive at half the chain's measured capacity, against
//!   one hop through Redis (LPUSH + BRPOP, 1 KiB); and the same with
//!   batches of at most 64 records (`batch_records`). Beside the Redis
//!   hop, one hop through a JetStream stream (a publish, acked, and its
//!   delivery from a push consumer; 1 KiB).
//!
//! Each case runs `--runs` times; a row gives the median and the worst run
//! (the tail), and its ratio to its baseline measured in the same run.

mod cases;
mod nats_chain;
mod recovery_state;
mod redis_chain;

use crate::report::{self, Bar, Format, Row};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `faasrt-bench streams`.
#[derive(Debug, clap::Args)]
pub struct StreamsArgs {
    /// A short run (about a minute): 200k records per case, 3 runs.
    #[arg(long)]
    pub quick: bool,
    /// Runs per case (default 5, 3 with --quick).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/streams")]
    pub out: PathBuf,
}

/// One result row.
#[derive(Debug, Serialize)]
struct StreamsRow {
    case: String,
    unit: &'static str,
    median: f64,
    /// The worst run: the lowest throughput, or the highest latency (p99
    /// for latency samples).
    tail: f64,
    baseline: String,
    ratio_to_baseline: Option<f64>,
}

impl Row for StreamsRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "unit",
            "median",
            "tail",
            "baseline",
            "ratio_to_baseline",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.case.clone(),
            self.unit.into(),
            format!("{:.1}", self.median),
            format!("{:.1}", self.tail),
            self.baseline.clone(),
            self.ratio_to_baseline
                .map_or("-".into(), |r| format!("{r:.2}")),
        ]
    }
}

/// Median and worst of throughputs (the worst is the lowest).
fn throughput(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[sorted.len() / 2], sorted[0])
}

/// Median and p99 of latencies, in microseconds.
fn latency(values: &[Duration]) -> (f64, f64) {
    let mut sorted: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[((sorted.len() as f64 * 0.99).ceil() as usize).clamp(1, sorted.len()) - 1];
    (sorted[sorted.len() / 2], p99)
}

/// Runs the benchmark and prints/writes its results.
pub fn run(args: StreamsArgs) -> anyhow::Result<()> {
    let n = if args.quick { 200_000 } else { 2_000_000 };
    let runs = args.runs.unwrap_or(if args.quick { 3 } else { 5 }).max(1);
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let (_runtime, streams) = io.block_on(cases::open(dir.path()))?;
    let lines = cases::records(n, 10_000);
    let mut rows = Vec::new();
    let mut stream_number = 0;
    let mut measure = |spec: &str| -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        let mut wall = Vec::new();
        let mut per_cpu = Vec::new();
        for _ in 0..runs {
            stream_number += 1;
            let name = format!("s{stream_number}");
            let run = io.block_on(cases::run_stream(&streams, &name, spec, &lines))?;
            streams.remove(&name)?;
            wall.push(n as f64 / run.wall.as_secs_f64());
            per_cpu.push(n as f64 / run.cpu.as_secs_f64().max(1e-9));
        }
        Ok((wall, per_cpu))
    };

    // Stateless, against the broker chains.
    let broker_median = broker_chain(
        "redis-streams-chain",
        runs,
        &lines,
        redis_chain::redis_chain,
        &mut rows,
    );
    let nats_median = broker_chain(
        "nats-jetstream-chain",
        runs,
        &lines,
        nats_chain::nats_jetstream_chain,
        &mut rows,
    );
    let stateless = |replicas: u32| {
        format!(
            r#"{{"stages": [{{"function": "cat", "replicas": {replicas}}}], "checkpoint_interval_ms": 1000}}"#
        )
    };
    let (one, one_cpu) = measure(&stateless(1))?;
    let one_median = throughput(&one).0;
    rows.push(row(
        "stateless-1-replica",
        "records/s",
        throughput(&one),
        "redis-streams-chain",
        broker_median.map(|b| one_median / b),
    ));
    if let Some(nats) = nats_median {
        rows.push(row(
            "stateless-1-replica-vs-nats",
            "records/s",
            throughput(&one),
            "nats-jetstream-chain",
            Some(one_median / nats),
        ));
    }
    rows.push(row(
        "stateless-1-replica-per-cpu",
        "records/cpu-s",
        throughput(&one_cpu),
        "-",
        None,
    ));
    let (two, _) = measure(&stateless(2))?;
    rows.push(row(
        "stateless-2-replicas",
        "records/s",
        throughput(&two),
        "stateless-1-replica",
        Some(throughput(&two).0 / one_median),
    ));
    // The same two replicas, each on a thread of its own pinned to a core.
    let cores = cases::allowed_cpus();
    if cores.len() >= 2 {
        let pinned = format!(
            r#"{{"stages": [{{"function": "cat", "replicas": 2, "cpus": [{}, {}]}}], "checkpoint_interval_ms": 1000}}"#,
            cores[0], cores[1]
        );
        let (two_pinned, _) = measure(&pinned)?;
        rows.push(row(
            "stateless-2-replicas-pinned",
            "records/s",
            throughput(&two_pinned),
            "stateless-1-replica",
            Some(throughput(&two_pinned).0 / one_median),
        ));
    } else {
        eprintln!(
            "note: stateless-2-replicas-pinned is left out: this process may run on one CPU only"
        );
    }

    // The hop between two stages at half the chain's capacity, against one
    // hop through Redis (LPUSH, BRPOP).
    let two_stages =
        r#"{"stages": [{"function": "cat"}, {"function": "cat"}], "checkpoint_interval_ms": 1000}"#;
    let (chain, _) = measure(two_stages)?;
    let capacity = throughput(&chain).0;
    rows.push(row(
        "stateless-2-stages",
        "records/s",
        throughput(&chain),
        "-",
        None,
    ));
    let seconds = if args.quick { 2.0 } else { 5.0 };
    let (p50, p99) = io.block_on(cases::hop_latency(
        &streams,
        "hops",
        capacity / 2.0,
        seconds,
        4096,
    ))?;
    streams.remove("hops")?;
    let hops = if args.quick { 2_000 } else { 20_000 };
    let redis = crate::pipes::brokers::redis_hop(hops);
    let redis_p50 = match &redis {
        Ok(samples) => {
            let (r50, r99) = (samples.quantile_us(0.5), samples.quantile_us(0.99));
            rows.push(row("redis-hop-1kib", "us", (r50, r99), "-", None));
            Some(r50)
        }
        Err(error) => {
            eprintln!("note: the redis hop baseline is left out: {error:#}");
            None
        }
    };
    match nats_chain::nats_jetstream_hop(hops) {
        Ok(samples) => {
            let quantiles = (samples.quantile_us(0.5), samples.quantile_us(0.99));
            rows.push(row("nats-jetstream-hop-1kib", "us", quantiles, "-", None));
        }
        Err(error) => eprintln!("note: the nats-jetstream hop baseline is left out: {error:#}"),
    }
    rows.push(row(
        "hop-at-50pct-load",
        "us",
        (p50, p99),
        "redis-hop-1kib",
        redis_p50.map(|r| r / p50),
    ));
    // The same with batches of at most 64 records: latency against throughput.
    let small_batches = r#"{"stages": [{"function": "cat"}, {"function": "cat"}], "checkpoint_interval_ms": 1000, "batch_records": 64}"#;
    let (small, _) = measure(small_batches)?;
    let small_capacity = throughput(&small).0;
    rows.push(row(
        "stateless-2-stages-batch-64",
        "records/s",
        throughput(&small),
        "stateless-2-stages",
        Some(small_capacity / capacity),
    ));
    let (p50, p99) = io.block_on(cases::hop_latency(
        &streams,
        "hops-64",
        small_capacity / 2.0,
        seconds,
        64,
    ))?;
    streams.remove("hops-64")?;
    rows.push(row(
        "hop-at-50pct-load-batch-64",
        "us",
        (p50, p99),
        "redis-hop-1kib",
        redis_p50.map(|r| r / p50),
    ));

    // Keyed, with checkpoints, against the same without them.
    let keyed = |interval: u64| {
        format!(
            r#"{{"stages": [{{"function": "cat"}}, {{"function": "word-count", "key": {{"field": 0}}}}], "checkpoint_interval_ms": {interval}}}"#
        )
    };
    let (none, _) = measure(&keyed(3_600_000))?;
    let none_median = throughput(&none).0;
    rows.push(row(
        "keyed-final-checkpoint-only",
        "updates/s",
        throughput(&none),
        "-",
        None,
    ));
    for (case, interval) in [
        ("keyed-checkpoint-1s", 1_000),
        ("keyed-checkpoint-100ms", 100),
    ] {
        let (with, with_cpu) = measure(&keyed(interval))?;
        rows.push(row(
            case,
            "updates/s",
            throughput(&with),
            "keyed-final-checkpoint-only",
            Some(throughput(&with).0 / none_median),
        ));
        if interval == 1_000 {
            rows.push(row(
                "keyed-checkpoint-1s-per-cpu",
                "updates/cpu-s",
                throughput(&with_cpu),
                "-",
                None,
            ));
        }
    }

    // The epoch commit.
    let samples = if args.quick { 20 } else { 100 };
    let small = cases::commit_times(&dir.path().join("commit-1"), 1, samples)?;
    let large = cases::commit_times(&dir.path().join("commit-10k"), 10_000, samples)?;
    let small_latency = latency(&small);
    rows.push(row("commit-1-dirty-key", "us", small_latency, "-", None));
    rows.push(row(
        "commit-10k-dirty-keys",
        "us",
        latency(&large),
        "commit-1-dirty-key",
        Some(latency(&large).0 / small_latency.0),
    ));

    // Recovery after a trap.
    let mut detection = Vec::new();
    let mut back = Vec::new();
    for attempt in 0..runs {
        let fault = std::sync::Arc::new(cases::OneFault::default());
        streams.set_faults(Some(fault.clone()));
        let name = format!("recovery{attempt}");
        let (detected, recovered) = io.block_on(cases::recovery(&streams, &name, &fault))?;
        streams.remove(&name)?;
        detection.push(detected);
        back.push(recovered);
    }
    streams.set_faults(None);
    rows.push(row(
        "recovery-detection",
        "us",
        latency(&detection),
        "-",
        None,
    ));
    let back_median = latency(&back).0;
    rows.push(row(
        "recovery-back-to-output",
        "us",
        latency(&back),
        "-",
        None,
    ));
    // The same against the size of the keyed stage's state.
    let sizes: &[(&str, u64)] = if args.quick {
        &[("1mb", 1 << 20), ("10mb", 10 << 20)]
    } else {
        &[
            ("1mb", 1 << 20),
            ("10mb", 10 << 20),
            ("100mb", 100 << 20),
            ("1gb", 1 << 30),
        ]
    };
    let mut plotted = Vec::new();
    for (label, bytes) in sizes {
        let measured = recovery_state::recoveries(&io, dir.path(), *bytes, runs)?;
        let detection: Vec<Duration> = measured.iter().map(|m| m.detection).collect();
        let back: Vec<Duration> = measured.iter().map(|m| m.back_to_output).collect();
        rows.push(row(
            &format!("recovery-detection-state-{label}"),
            "us",
            latency(&detection),
            "-",
            None,
        ));
        let (median, tail) = latency(&back);
        rows.push(row(
            &format!("recovery-back-to-output-state-{label}"),
            "us",
            (median, tail),
            "recovery-back-to-output",
            Some(median / back_median),
        ));
        plotted.push(Bar {
            label: format!("state {label}"),
            value: median / 1000.0,
        });
    }
    std::fs::create_dir_all(&args.out)?;
    report::bar_chart(
        &args.out.join("recovery-state.svg"),
        "back to committed output after a trap, by state size (median)",
        "ms",
        &plotted,
    )?;

    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "streams")?;
    let bars: Vec<Bar> = rows
        .iter()
        // The `-vs-nats` row repeats `stateless-1-replica` for its ratio.
        .filter(|r| r.unit == "records/s" || r.unit == "updates/s")
        .filter(|r| !r.case.ends_with("-vs-nats"))
        .map(|r| Bar {
            label: r.case.clone(),
            value: r.median,
        })
        .collect();
    report::bar_chart(
        &args.out.join("streams.svg"),
        "streams throughput (median)",
        "records/s",
        &bars,
    )
}

/// The timed part of a broker chain, the same for every broker: its stage
/// and its sink on threads of their own against the broker on `port`,
/// until the sink has all `total` records; the time that took.
///
/// A failed stage returns at once; the caller then stops the broker, which
/// ends the sink's connection, so the sink fails soon instead of waiting
/// out its stall.
fn timed_stage_and_sink(
    port: u16,
    total: usize,
    stage: fn(u16, usize) -> anyhow::Result<()>,
    sink: fn(u16, usize) -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    use anyhow::Context;
    let started = std::time::Instant::now();
    let stage = std::thread::spawn(move || stage(port, total));
    let sink = std::thread::spawn(move || sink(port, total));
    stage
        .join()
        .map_err(|_| anyhow::anyhow!("the stage thread panicked"))?
        .context("the chain's stage")?;
    sink.join()
        .map_err(|_| anyhow::anyhow!("the sink thread panicked"))?
        .context("the chain's sink")?;
    Ok(started.elapsed())
}

/// Runs the broker chain `case` `runs` times over `lines` and adds its row;
/// its median throughput, or `None` with a note where no run could be
/// measured (its server is not installed, say). A failed run ends the case
/// (with the note); the runs before it still make the row.
fn broker_chain(
    case: &str,
    runs: usize,
    lines: &[Vec<u8>],
    chain: fn(&[Vec<u8>]) -> anyhow::Result<Duration>,
    rows: &mut Vec<StreamsRow>,
) -> Option<f64> {
    let mut measured = Vec::new();
    for _ in 0..runs {
        match chain(lines) {
            Ok(took) => measured.push(lines.len() as f64 / took.as_secs_f64()),
            Err(error) => {
                eprintln!("note: the {case} baseline is left out: {error:#}");
                break;
            }
        }
    }
    if measured.is_empty() {
        return None;
    }
    let (median, tail) = throughput(&measured);
    rows.push(row(case, "records/s", (median, tail), "-", None));
    Some(median)
}

fn row(
    case: &str,
    unit: &'static str,
    (median, tail): (f64, f64),
    baseline: &str,
    ratio: Option<f64>,
) -> StreamsRow {
    StreamsRow {
        case: case.into(),
        unit,
        median,
        tail,
        baseline: baseline.into(),
        ratio_to_baseline: ratio,
    }
}
