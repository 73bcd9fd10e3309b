//! `faasrt-bench pipes`: bytes through chains of `cat` as faasrt pipelines
//! (`wasm` stages, `native` stages, and `mixed` alternating ones), against
//! native `cat` processes joined by OS pipes (`os-pipe`, the baseline) and
//! TCP loopback relays; and the latency of one hop for a 1 KiB message,
//! against an OS pipe, an HTTP invocation, Redis (LPUSH + BRPOP) and NATS
//! (publish to a subscriber), the peers coming from `bench/peers/install.sh`.
//!
//! This module deploys the `cat`s and runs the cases in order; `chains`
//! measures throughput, `hops` the latency of faasrt's and the OS's hops,
//! `brokers` that of Redis and NATS, and `results` turns both into rows and
//! files. The payload (`block`, `MESSAGE`) is shared by all of them.

pub(crate) mod brokers;
mod chains;
pub(crate) mod hops;
mod results;

use crate::report::Format;
use anyhow::{Context, bail};
use bytes::Bytes;
use chains::ChainThroughput;
use faasrt_runtime::{Runtime, RuntimeConfig};
use hops::HopLatencies;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Options of `faasrt-bench pipes`.
#[derive(Debug, clap::Args)]
pub struct PipesArgs {
    /// A short run (under a minute): 128 MiB per throughput case.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/pipes")]
    pub out: PathBuf,
    /// The faasrt binary for the HTTP hop (default: next to this one).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
}

/// The size of the message of the hop cases: 1 KiB.
pub(crate) const MESSAGE: usize = 1024;

/// Runs the benchmark and prints/writes its results.
pub fn run(args: PipesArgs) -> anyhow::Result<()> {
    let total: usize = if args.quick { 128 << 20 } else { 1 << 30 };
    let messages: u64 = if args.quick { 2_000 } else { 20_000 };
    let cat = native_cat()?;
    let shapes = chain_shapes();
    let progress = progress_bar(shapes.len());
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let runtime = io.block_on(deploy_cats())?;

    let mut rows = Vec::new();
    for &(stages, chunk) in &shapes {
        let throughput = measure_chains(&cat, &runtime, &io, &progress, (stages, chunk), total)?;
        rows.extend(results::throughput_rows(stages, chunk, &throughput));
    }

    let latencies = measure_hops(
        &cat,
        &runtime,
        &io,
        &progress,
        messages,
        args.faasrt.as_deref(),
    )?;
    progress.finish_and_clear();
    rows.extend(results::hop_rows(&latencies)?);

    results::print_and_write(&rows, args.format, &args.out)
}

/// The host build of the `cat` example (`cat-native`, built by
/// `faasrt-example-artifacts` into target/native-examples).
fn native_cat() -> anyhow::Result<PathBuf> {
    match faasrt_example_artifacts::get_native("cat-native") {
        Some(example) => Ok(example.path()),
        None => bail!("no native cat: native examples are built on x86_64 Linux only"),
    }
}

/// The shapes of the throughput cases, `(stages, chunk bytes)`: 2, 4 and 8
/// stages, each with 4 KiB and with 64 KiB writes.
fn chain_shapes() -> Vec<(usize, usize)> {
    [2, 4, 8]
        .into_iter()
        .flat_map(|stages| [4096, 65536].map(|chunk| (stages, chunk)))
        .collect()
}

/// The progress bar on stderr for a run over `shapes` chain shapes.
fn progress_bar(shapes: usize) -> ProgressBar {
    ProgressBar::new((shapes * 3 + 4) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
    )
}

/// An in-memory runtime with the `cat` example deployed twice: as wasm
/// (`cat`) and as a native process (`cat-native`).
async fn deploy_cats() -> anyhow::Result<Runtime> {
    let runtime = Runtime::open(RuntimeConfig::in_memory())?;
    let wasm = faasrt_example_artifacts::get("cat")
        .context("cat example")?
        .wasm;
    runtime
        .deploy("cat", Bytes::from_static(wasm), Default::default())
        .await?;
    let native = faasrt_example_artifacts::get_native("cat-native").context("native cat")?;
    let options = faasrt_runtime::DeployOptions {
        code: faasrt_runtime::Code::Native,
        ..Default::default()
    };
    runtime
        .deploy("cat-native", Bytes::from_static(native.executable), options)
        .await?;
    Ok(runtime)
}

/// Every throughput case of one shape, in order: OS pipes, faasrt's wasm,
/// native and mixed chains, TCP loopback.
fn measure_chains(
    cat: &Path,
    runtime: &Runtime,
    io: &tokio::runtime::Runtime,
    progress: &ProgressBar,
    (stages, chunk): (usize, usize),
    total: usize,
) -> anyhow::Result<ChainThroughput> {
    progress.set_message(format!("{stages} stages, {chunk} B: OS pipes"));
    let os_pipe = chains::os_pipe_chain(cat, stages, chunk, total)?;
    progress.inc(1);
    progress.set_message(format!("{stages} stages, {chunk} B: wasm"));
    let wasm = io.block_on(chains::faasrt_chain(
        runtime,
        &["cat"],
        stages,
        chunk,
        total,
    ))?;
    progress.set_message(format!("{stages} stages, {chunk} B: faasrt native"));
    let native = io.block_on(chains::faasrt_chain(
        runtime,
        &["cat-native"],
        stages,
        chunk,
        total,
    ))?;
    progress.set_message(format!("{stages} stages, {chunk} B: mixed"));
    let mixed = io.block_on(chains::faasrt_chain(
        runtime,
        &["cat", "cat-native"],
        stages,
        chunk,
        total,
    ))?;
    progress.inc(1);
    progress.set_message(format!("{stages} stages, {chunk} B: TCP"));
    let tcp_loopback = chains::tcp_chain(stages, chunk, total)?;
    progress.inc(1);
    Ok(ChainThroughput {
        os_pipe,
        wasm,
        native,
        mixed,
        tcp_loopback,
    })
}

/// Every 1 KiB hop case, in order: OS pipe, wasm, HTTP (on the `faasrt`
/// binary), Redis and NATS (each left out, with a note, where its server
/// is missing). A failed wasm hop is kept as its error, reported when the
/// rows are made.
fn measure_hops(
    cat: &Path,
    runtime: &Runtime,
    io: &tokio::runtime::Runtime,
    progress: &ProgressBar,
    messages: u64,
    faasrt: Option<&Path>,
) -> anyhow::Result<HopLatencies> {
    progress.set_message("1 KiB hop: OS pipe");
    let os_pipe = hops::os_pipe_hop(cat, messages)?;
    progress.inc(1);
    progress.set_message("1 KiB hop: wasm");
    let wasm =
        hops::WASM_STAGES.map(|stages| io.block_on(hops::wasm_hop(runtime, stages, messages)));
    progress.inc(1);
    progress.set_message("1 KiB hop: HTTP");
    let http = hops::http_hop(faasrt, io, messages / 4)?;
    progress.inc(1);
    progress.set_message("1 KiB hop: Redis, NATS");
    let redis = brokers::unless_unavailable("Redis", brokers::redis_hop(messages / 4));
    let nats = brokers::unless_unavailable("NATS", brokers::nats_hop(messages / 4));
    progress.inc(1);
    Ok(HopLatencies {
        os_pipe,
        wasm,
        http,
        redis,
        nats,
    })
}

/// A block of `chunk` bytes with a pattern (not zeros, which some paths
/// could special-case).
pub(crate) fn block(chunk: usize) -> Bytes {
    (0..chunk)
        .map(|i| (i * 7 % 253) as u8)
        .collect::<Vec<u8>>()
        .into()
}
