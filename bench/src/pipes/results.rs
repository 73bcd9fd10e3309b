//! The results of `faasrt-bench pipes`: rows made from the throughput and
//! hop measurements (each with its ratio to the OS pipe case of the same
//! shape in the same run), and their output: the table (or CSV/JSON) on
//! stdout and `pipes.{csv,json,svg}` under `--out`.

use super::MESSAGE;
use super::chains::ChainThroughput;
use super::hops::{HopLatencies, WASM_STAGES};
use crate::report::{self, Bar, Format, Row};
use crate::stats::Samples;
use serde::Serialize;
use std::path::Path;

/// One result row: a throughput case (`mb_per_s`) or a latency case
/// (`p50_us`, `p99_us` per hop). `ratio_to_os_pipe` compares with the OS
/// pipe case of the same shape measured in the same run: throughput over
/// its throughput, or its latency over this latency (above 1 is better).
#[derive(Debug, Serialize)]
pub(super) struct PipesRow {
    case: String,
    stages: usize,
    chunk_bytes: usize,
    mb_per_s: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    ratio_to_os_pipe: Option<f64>,
}

impl Row for PipesRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "stages",
            "chunk_bytes",
            "mb_per_s",
            "p50_us",
            "p99_us",
            "ratio_to_os_pipe",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let number =
            |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
        vec![
            self.case.clone(),
            self.stages.to_string(),
            self.chunk_bytes.to_string(),
            number(self.mb_per_s, 0),
            number(self.p50_us, 2),
            number(self.p99_us, 2),
            number(self.ratio_to_os_pipe, 2),
        ]
    }
}

/// The rows of one shape's throughput cases: `wasm`, `native`, `mixed`,
/// `os-pipe`, `tcp-loopback`.
pub(super) fn throughput_rows(
    stages: usize,
    chunk: usize,
    throughput: &ChainThroughput,
) -> Vec<PipesRow> {
    [
        ("wasm", throughput.wasm),
        ("native", throughput.native),
        ("mixed", throughput.mixed),
        ("os-pipe", throughput.os_pipe),
        ("tcp-loopback", throughput.tcp_loopback),
    ]
    .into_iter()
    .map(|(case, mb_per_s)| PipesRow {
        case: case.into(),
        stages,
        chunk_bytes: chunk,
        mb_per_s: Some(mb_per_s),
        p50_us: None,
        p99_us: None,
        ratio_to_os_pipe: Some(mb_per_s / throughput.os_pipe),
    })
    .collect()
}

/// The rows of the hop cases, per hop: `hop-os-pipe`, `hop-wasm` (per
/// pipeline length), `hop-http`, and `hop-redis` and `hop-nats` where they
/// were measured; fails with the error of a failed wasm hop.
pub(super) fn hop_rows(latencies: &HopLatencies) -> anyhow::Result<Vec<PipesRow>> {
    // An OS pipe round trip is two hops: into `cat` and out of it.
    let os_p50 = latencies.os_pipe.quantile_us(0.5) / 2.0;
    let mut rows = vec![hop_row("hop-os-pipe", 1, &latencies.os_pipe, 2.0, os_p50)];
    for (stages, samples) in WASM_STAGES.into_iter().zip(&latencies.wasm) {
        let samples = samples.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        rows.push(hop_row(
            "hop-wasm",
            stages,
            samples,
            (stages + 1) as f64,
            os_p50,
        ));
    }
    rows.push(hop_row("hop-http", 1, &latencies.http, 1.0, os_p50));
    if let Some(redis) = &latencies.redis {
        rows.push(hop_row("hop-redis", 1, redis, 1.0, os_p50));
    }
    if let Some(nats) = &latencies.nats {
        rows.push(hop_row("hop-nats", 1, nats, 1.0, os_p50));
    }
    Ok(rows)
}

/// The row of one hop case whose round trips (`samples`) cross `hops`
/// hops, against the OS pipe's p50 per hop `os_p50`.
fn hop_row(case: &str, stages: usize, samples: &Samples, hops: f64, os_p50: f64) -> PipesRow {
    let p50 = samples.quantile_us(0.5) / hops;
    PipesRow {
        case: case.into(),
        stages,
        chunk_bytes: MESSAGE,
        mb_per_s: None,
        p50_us: Some(p50),
        p99_us: Some(samples.quantile_us(0.99) / hops),
        ratio_to_os_pipe: Some(os_p50 / p50),
    }
}

/// Prints `rows` on stdout in `format` and writes `pipes.{csv,json,svg}`
/// under `out`.
pub(super) fn print_and_write(rows: &[PipesRow], format: Format, out: &Path) -> anyhow::Result<()> {
    print!("{}", report::render(rows, format)?);
    report::write_files(rows, out, "pipes")?;
    write_chart(rows, out)?;
    eprintln!("wrote {}/pipes.{{csv,json,svg}}", out.display());
    Ok(())
}

/// `pipes.svg`: the throughput of every chain case, on a log scale.
fn write_chart(rows: &[PipesRow], out: &Path) -> anyhow::Result<()> {
    let bars: Vec<Bar> = rows
        .iter()
        .filter_map(|r| {
            r.mb_per_s.map(|v| Bar {
                label: format!("{} {}x{}K", r.case, r.stages, r.chunk_bytes / 1024),
                value: v,
            })
        })
        .collect();
    report::bar_chart_log(
        &out.join("pipes.svg"),
        "throughput of cat chains (MB/s, log scale)",
        "MB/s",
        &bars,
    )
}
