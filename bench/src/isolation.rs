//! `faasrt-bench isolation`: what hostile neighbours and each protection
//! cost a well-behaved function. `hello` is invoked alone, then while a
//! stream of hostile guests runs beside it (one at a time: spinning past its
//! timeout, flooding its output, growing memory until refused, recursing
//! until the stack overflows, trapping): first with explicit bounds checks
//! (the default), then on a second runtime with guard pages, then (where
//! wasmtime finds protection keys) on a third whose memories are striped
//! with keys, and last after the server threads' seccomp filter is
//! installed in this process.

use crate::report::{self, Format, Row};
use crate::stats::Samples;
use anyhow::Context;
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, InvokeRequest, RequestedLimits, Runtime, RuntimeConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Options of `faasrt-bench isolation`.
#[derive(Debug, clap::Args)]
pub struct IsolationArgs {
    /// A short run with fewer samples.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV and JSON output.
    #[arg(long, default_value = "bench-out/isolation")]
    pub out: PathBuf,
    /// Only these hostile guests (default: all of spin, flood,
    /// memory-bomb, recursion, trap), to find which neighbour costs what.
    #[arg(long = "hostile", value_name = "NAME")]
    pub hostile: Vec<String>,
}

/// One result row.
#[derive(Debug, Serialize)]
pub struct IsolationRow {
    case: String,
    n: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// The case this one is compared with (same run).
    baseline: String,
    /// p99 of this case over p99 of `baseline`.
    p99_ratio: f64,
    /// Hostile invocations that ran beside it.
    hostile_runs: u64,
}

impl Row for IsolationRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "n",
            "p50_us",
            "p99_us",
            "max_us",
            "baseline",
            "p99_ratio",
            "hostile_runs",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.case.clone(),
            self.n.to_string(),
            format!("{:.1}", self.p50_us),
            format!("{:.1}", self.p99_us),
            format!("{:.1}", self.max_us),
            self.baseline.clone(),
            format!("{:.2}", self.p99_ratio),
            self.hostile_runs.to_string(),
        ]
    }
}

/// The hostile fixtures, as WebAssembly text.
const HOSTILE: &[(&str, &str)] = &[
    (
        "spin",
        r#"(module (func (export "_start") (loop $l (br $l))))"#,
    ),
    (
        "flood",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 60000))
                (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))"#,
    ),
    (
        "memory-bomb",
        r#"(module (memory 1)
            (func (export "_start")
                (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
                unreachable))"#,
    ),
    (
        "recursion",
        r#"(module (func $f (export "_start") (call $f)))"#,
    ),
    ("trap", r#"(module (func (export "_start") unreachable))"#),
];

/// Runs the benchmark and prints/writes its results.
pub fn run(args: IsolationArgs) -> anyhow::Result<()> {
    let samples = if args.quick { 3_000 } else { 30_000 };
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let chosen: Vec<&'static str> = HOSTILE
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| args.hostile.is_empty() || args.hostile.iter().any(|h| h == name))
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "no hostile guest called {:?}",
        args.hostile
    );
    let rows = io.block_on(async {
        let mut rows = Vec::new();
        let mut row = |case: &str, samples: &Samples, baseline: (&str, &Samples), runs: u64| {
            rows.push(IsolationRow {
                case: case.into(),
                n: samples.len(),
                p50_us: samples.quantile_us(0.5),
                p99_us: samples.quantile_us(0.99),
                max_us: samples.max_us(),
                baseline: baseline.0.into(),
                p99_ratio: samples.quantile_us(0.99) / baseline.1.quantile_us(0.99),
                hostile_runs: runs,
            })
        };
        let default = deployed(RuntimeConfig::in_memory()).await?;
        let alone = measure(&default, samples).await?;
        let (beside, runs) = with_hostile_neighbours(&default, &chosen, samples).await?;
        row("alone", &alone, ("alone", &alone), 0);
        row("beside-hostile", &beside, ("alone", &alone), runs);

        let guard_config = RuntimeConfig::in_memory()
            .explicit_bounds_checks(false)
            .memory_protection_keys(false);
        let guard = deployed(guard_config.clone()).await?;
        let guard_alone = measure(&guard, samples).await?;
        let (guard_beside, runs) = with_hostile_neighbours(&guard, &chosen, samples).await?;
        row("guard-pages", &guard_alone, ("alone", &alone), 0);
        row(
            "guard-pages-beside-hostile",
            &guard_beside,
            ("guard-pages", &guard_alone),
            runs,
        );
        drop(guard);

        if wasmtime::PoolingAllocationConfig::are_memory_protection_keys_available() {
            // 256 MiB memories let 12 keys share the guard regions.
            let striped = deployed(guard_config.memory_protection_keys(true).max_memory_mb(256)).await?;
            let striped_alone = measure(&striped, samples).await?;
            row("guard-pages-pkeys", &striped_alone, ("guard-pages", &guard_alone), 0);
        } else {
            eprintln!(
                "note: no pkeys row: wasmtime finds no memory protection keys here (see faasrt doctor)"
            );
        }

        // What `faasrt serve` installs: the runtime filter, and the
        // guest-thread role on the threads that run `hello`.
        match faasrt_runtime::install_server_seccomp(faasrt_isolation::RuntimeSeccomp::Enforce) {
            Ok(()) => {
                let seccomp = measure(&default, samples).await?;
                row("seccomp-enforce", &seccomp, ("alone", &alone), 0);
            }
            Err(error) => eprintln!("note: no seccomp row: {error}"),
        }
        anyhow::Ok(rows)
    })?;
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "isolation")?;
    eprintln!("wrote {}/isolation.{{csv,json}}", args.out.display());
    Ok(())
}

/// A runtime on `config` with `hello` and every hostile guest deployed
/// (50 ms timeout, 64 MiB memory for the hostile ones).
async fn deployed(config: RuntimeConfig) -> anyhow::Result<Runtime> {
    let runtime = Runtime::open(config.max_output_bytes(1 << 20))?;
    let hello = faasrt_example_artifacts::get("hello").context("hello example")?;
    runtime
        .deploy(
            "hello",
            Bytes::from_static(hello.wasm),
            DeployOptions::default(),
        )
        .await?;
    let limits = DeployOptions {
        limits: RequestedLimits {
            timeout_ms: Some(50),
            memory_mb: Some(64),
            ..Default::default()
        },
        ..Default::default()
    };
    for (name, text) in HOSTILE {
        let wasm = wat::parse_str(text).with_context(|| format!("fixture {name}"))?;
        runtime
            .deploy(name, Bytes::from(wasm), limits.clone())
            .await?;
    }
    Ok(runtime)
}

/// `n` sequential invocations of `hello`.
async fn measure(runtime: &Runtime, n: u64) -> anyhow::Result<Samples> {
    for _ in 0..n / 10 {
        runtime.invoke("hello", InvokeRequest::default()).await?;
    }
    let mut samples = Samples::new();
    for _ in 0..n {
        let sent = Instant::now();
        let invocation = runtime.invoke("hello", InvokeRequest::default()).await?;
        samples.record(sent.elapsed());
        anyhow::ensure!(invocation.status.is_success(), "hello failed");
    }
    Ok(samples)
}

/// Measures `hello` while one background task invokes the hostile guests
/// one after another, round and round; returns how many hostile runs
/// happened meanwhile.
async fn with_hostile_neighbours(
    runtime: &Runtime,
    hostile: &[&'static str],
    n: u64,
) -> anyhow::Result<(Samples, u64)> {
    let hostile = hostile.to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicU64::new(0));
    let neighbour = {
        let (runtime, stop, runs) = (runtime.clone(), stop.clone(), runs.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for name in &hostile {
                    let invocation = runtime.invoke(name, InvokeRequest::default()).await?;
                    anyhow::ensure!(!invocation.status.is_success(), "{name} was not stopped");
                    runs.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        })
    };
    let samples = measure(runtime, n).await;
    stop.store(true, Ordering::Relaxed);
    neighbour.await.context("hostile task")??;
    Ok((samples?, runs.load(Ordering::Relaxed)))
}
