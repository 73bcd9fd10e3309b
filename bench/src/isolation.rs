//! `faasrt-bench isolation`: what hostile neighbours and each protection
//! cost a well-behaved function. `hello` is invoked alone, then while a
//! stream of hostile guests runs beside it (one at a time: spinning past its
//! timeout, flooding its output, growing memory until refused, recursing
//! until the stack overflows, trapping), then again after the server
//! threads' seccomp filter is installed in this process.

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
    /// Run the runtime with explicit bounds checks instead of guard pages.
    #[arg(long)]
    pub explicit_bounds: bool,
}

/// One result row.
#[derive(Debug, Serialize)]
pub struct IsolationRow {
    case: String,
    n: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// p99 of this case over p99 of `alone`, same run.
    p99_ratio_to_alone: f64,
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
            "p99_ratio_to_alone",
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
            format!("{:.2}", self.p99_ratio_to_alone),
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
    let rows = io.block_on(async {
        let runtime = Runtime::open(
            RuntimeConfig::in_memory()
                .max_output_bytes(1 << 20)
                .explicit_bounds_checks(args.explicit_bounds),
        )?;
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
        let alone = measure(&runtime, samples).await?;
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
        let (beside, hostile_runs) = with_hostile_neighbours(&runtime, &chosen, samples).await?;
        let seccomp = match faasrt_isolation::install_runtime_filter(
            faasrt_isolation::RuntimeSeccomp::Enforce,
        ) {
            Ok(()) => Some(measure(&runtime, samples).await?),
            Err(error) => {
                eprintln!("note: no seccomp row: {error}");
                None
            }
        };
        let alone_p99 = alone.quantile_us(0.99);
        let row = |case: &str, samples: &Samples, hostile_runs: u64| IsolationRow {
            case: case.into(),
            n: samples.len(),
            p50_us: samples.quantile_us(0.5),
            p99_us: samples.quantile_us(0.99),
            max_us: samples.max_us(),
            p99_ratio_to_alone: samples.quantile_us(0.99) / alone_p99,
            hostile_runs,
        };
        let mut rows = vec![
            row("alone", &alone, 0),
            row("beside-hostile", &beside, hostile_runs),
        ];
        if let Some(seccomp) = &seccomp {
            rows.push(row("seccomp-enforce", seccomp, 0));
        }
        if !wasmtime_pkeys_available() {
            eprintln!(
                "note: no pkeys row: this CPU has no memory protection keys (see faasrt doctor)"
            );
        }
        anyhow::Ok(rows)
    })?;
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "isolation")?;
    eprintln!("wrote {}/isolation.{{csv,json}}", args.out.display());
    Ok(())
}

fn wasmtime_pkeys_available() -> bool {
    faasrt_isolation::probe()
        .iter()
        .any(|probed| probed.name == "pkeys" && probed.available)
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
