//! `faasrt-bench coldstart`: how long a function takes from "start it" to
//! "it answered", in every way there is to start it, for each subject.
//!
//! Modes, measured in one run:
//! - `process`: the peer `wasmtime run` (same wasmtime version) as a new
//!   process on the precompiled module;
//! - `native-process`: fork/exec of the same Rust function built for the
//!   host (Rust subjects only);
//! - `ondemand`: in process, on-demand instance allocation, no pre-init;
//! - `pooled`: in process, pooling allocator, no pre-init;
//! - `preinit`: in process, pooling allocator and the pre-initialized
//!   snapshot: faasrt's default deploy (a module without `wizer-initialize`,
//!   like `hello`, has no snapshot, so this equals `pooled` for it);
//! - `http`: end to end through `faasrt serve` on loopback, one connection.
//!
//! Also `restart-50`: opening a data directory holding 50 functions, from
//! their artifacts (`artifacts`) and with the artifacts deleted
//! (`recompile`).

use crate::load::{self, LoadSpec};
use crate::peers::{self, WasmtimePeer};
use crate::report::{self, Bar, Format, Row};
use crate::stats::Samples;
use anyhow::{Context, bail};
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, InvokeRequest, Runtime, RuntimeConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `faasrt-bench coldstart`.
#[derive(Debug, clap::Args)]
pub struct ColdstartArgs {
    /// A short run (under a minute) with fewer samples.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/coldstart")]
    pub out: PathBuf,
    /// The faasrt binary to serve with (default: next to this one).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
}

/// One result row. `--format json` prints exactly the fields `subject,
/// mode, n, p50_us, p99_us, max_us, ratio_to_preinit`; CSV adds the peak
/// RSS of process modes.
#[derive(Debug, Serialize)]
pub struct ColdstartRow {
    subject: String,
    mode: String,
    n: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// p50 of this row over p50 of `preinit` for the same subject (for
    /// `restart-50`: over `artifacts`).
    ratio_to_preinit: Option<f64>,
    #[serde(skip)]
    peak_rss_kib: Option<u64>,
}

impl Row for ColdstartRow {
    fn header() -> &'static [&'static str] {
        &[
            "subject",
            "mode",
            "n",
            "p50_us",
            "p99_us",
            "max_us",
            "ratio_to_preinit",
            "peak_rss_kib",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.subject.clone(),
            self.mode.clone(),
            self.n.to_string(),
            format!("{:.1}", self.p50_us),
            format!("{:.1}", self.p99_us),
            format!("{:.1}", self.max_us),
            self.ratio_to_preinit
                .map_or("n/a".into(), |r| format!("{r:.1}")),
            self.peak_rss_kib.map_or("n/a".into(), |r| r.to_string()),
        ]
    }
}

/// A function to start: its example name, input and expected output.
struct Subject {
    name: &'static str,
    wasm: &'static [u8],
    reactor: bool,
    input: Bytes,
    expected: Bytes,
}

fn subjects() -> Vec<Subject> {
    let heavy_expected = Bytes::from(format!(
        "12345 -> {}\n",
        12_345u32.wrapping_mul(2_654_435_761)
    ));
    let mut subjects = Vec::new();
    for (name, reactor, input, expected) in [
        (
            "hello",
            false,
            Bytes::new(),
            Bytes::from_static(b"Hello, world!\n"),
        ),
        (
            "init-heavy",
            false,
            Bytes::from_static(b"12345\n"),
            heavy_expected.clone(),
        ),
        (
            "go-hello",
            true,
            Bytes::new(),
            Bytes::from_static(b"Hello, world!\n"),
        ),
        (
            "go-init-heavy",
            true,
            Bytes::from_static(b"12345\n"),
            heavy_expected.clone(),
        ),
    ] {
        match faasrt_example_artifacts::get(name) {
            Some(example) => subjects.push(Subject {
                name,
                wasm: example.wasm,
                reactor,
                input,
                expected,
            }),
            None => eprintln!(
                "note: example {name} is not built (Go missing? run scripts/install-go.sh); skipped"
            ),
        }
    }
    subjects
}

/// How many samples each mode takes: up to `max`, within `budget`, at
/// least `min`.
#[derive(Clone, Copy)]
struct Budget {
    min: u64,
    max: u64,
    time: Duration,
}

struct Plan {
    fast: Budget,
    slow: Budget,
    http: Duration,
    restart_runs: u64,
    restart_functions: usize,
}

struct Measured {
    subject: String,
    mode: &'static str,
    samples: Samples,
    peak_rss_kib: Option<u64>,
}

/// Runs the benchmark and prints/writes its results.
pub fn run(args: ColdstartArgs) -> anyhow::Result<()> {
    let plan = if args.quick {
        Plan {
            fast: Budget {
                min: 20,
                max: 2_000,
                time: Duration::from_millis(700),
            },
            slow: Budget {
                min: 5,
                max: 200,
                time: Duration::from_millis(1_500),
            },
            http: Duration::from_millis(700),
            restart_runs: 2,
            restart_functions: 50,
        }
    } else {
        Plan {
            fast: Budget {
                min: 100,
                max: 20_000,
                time: Duration::from_secs(3),
            },
            slow: Budget {
                min: 20,
                max: 1_000,
                time: Duration::from_secs(8),
            },
            http: Duration::from_secs(3),
            restart_runs: 5,
            restart_functions: 50,
        }
    };
    let peer = match WasmtimePeer::find(&peers::peer_cache()) {
        Ok(peer) => Some(peer),
        Err(error) => {
            eprintln!("note: {error:#}; the process mode is left out");
            None
        }
    };
    let faasrt = peers::faasrt_binary(args.faasrt.as_deref())?;
    let subjects = subjects();
    let progress = ProgressBar::new((subjects.len() * 6 + 2) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
    );
    let scratch = tempfile::tempdir()?;
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut measured = Vec::new();

    for subject in &subjects {
        // Expensive starts get the slow budget.
        let budget_for = |mode: &str| {
            let heavy = subject.name.contains("init-heavy") || subject.name.starts_with("go-");
            if heavy && mode != "preinit" {
                plan.slow
            } else {
                plan.fast
            }
        };
        if let Some(peer) = &peer {
            progress.set_message(format!("{}: wasmtime run", subject.name));
            let (samples, rss) =
                process_mode(peer, subject, scratch.path(), budget_for("process"))?;
            measured.push(Measured {
                subject: subject.name.into(),
                mode: "process",
                samples,
                peak_rss_kib: Some(rss),
            });
        }
        progress.inc(1);
        if !subject.reactor {
            progress.set_message(format!("{}: native process", subject.name));
            let native = native_binary(subject.name)?;
            let (samples, rss) = spawn_many(
                budget_for("native-process"),
                &subject.input,
                &subject.expected,
                || Command::new(&native),
            )?;
            measured.push(Measured {
                subject: subject.name.into(),
                mode: "native-process",
                samples,
                peak_rss_kib: Some(rss),
            });
        }
        progress.inc(1);
        for (mode, pooling, preinit) in [
            ("ondemand", false, false),
            ("pooled", true, false),
            ("preinit", true, true),
        ] {
            progress.set_message(format!("{}: {mode}", subject.name));
            let samples = io.block_on(in_process(subject, pooling, preinit, budget_for(mode)))?;
            measured.push(Measured {
                subject: subject.name.into(),
                mode,
                samples,
                peak_rss_kib: None,
            });
            progress.inc(1);
        }
    }

    progress.set_message("http");
    {
        let server = peers::start_faasrt(&faasrt, &scratch.path().join("serve-data"))?;
        for subject in &subjects {
            let spec = LoadSpec {
                addr: server.addr,
                path: format!("/v1/functions/{}/invoke", subject.name),
                body: subject.input.clone(),
                expected_body: subject.expected.clone(),
                connections: 1,
                warmup: Duration::from_millis(200),
                duration: plan.http,
            };
            let result = io
                .block_on(load::run(&spec))
                .with_context(|| format!("http load on {}", subject.name))?;
            measured.push(Measured {
                subject: subject.name.into(),
                mode: "http",
                samples: result.samples,
                peak_rss_kib: None,
            });
            progress.inc(1);
        }
    }

    progress.set_message(format!("restart with {} functions", plan.restart_functions));
    measured.extend(restart(
        &scratch.path().join("restart-data"),
        plan.restart_functions,
        plan.restart_runs,
        &io,
    )?);
    progress.finish_and_clear();

    let rows = rows(&measured);
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "coldstart")?;
    let bars: Vec<Bar> = measured
        .iter()
        .filter(|m| m.subject != "restart-50")
        .map(|m| Bar {
            label: format!("{} {}", m.subject, m.mode),
            value: m.samples.quantile_us(0.5),
        })
        .collect();
    report::bar_chart_log(
        &args.out.join("coldstart.svg"),
        "start to answer, p50 (log scale)",
        "microseconds",
        &bars,
    )?;
    eprintln!("wrote {}/coldstart.{{csv,json,svg}}", args.out.display());
    Ok(())
}

fn rows(measured: &[Measured]) -> Vec<ColdstartRow> {
    measured
        .iter()
        .map(|m| {
            let baseline_mode = if m.subject == "restart-50" {
                "artifacts"
            } else {
                "preinit"
            };
            let baseline = measured
                .iter()
                .find(|b| b.subject == m.subject && b.mode == baseline_mode)
                .map(|b| b.samples.quantile_us(0.5));
            let p50 = m.samples.quantile_us(0.5);
            ColdstartRow {
                subject: m.subject.clone(),
                mode: m.mode.to_owned(),
                n: m.samples.len(),
                p50_us: p50,
                p99_us: m.samples.quantile_us(0.99),
                max_us: m.samples.max_us(),
                ratio_to_preinit: baseline.map(|b| p50 / b),
                peak_rss_kib: m.peak_rss_kib,
            }
        })
        .collect()
}

/// Invokes `subject` in process, one invocation at a time.
async fn in_process(
    subject: &Subject,
    pooling: bool,
    preinit: bool,
    budget: Budget,
) -> anyhow::Result<Samples> {
    let runtime = Runtime::open(
        RuntimeConfig::in_memory()
            .pooling(pooling)
            .max_instances(16),
    )?;
    let options = DeployOptions {
        code: faasrt_runtime::Code::Wasm(faasrt_runtime::WasmOptions {
            skip_preinit: !preinit,
            bounds_checks: None,
        }),
        ..Default::default()
    };
    let info = runtime
        .deploy(subject.name, Bytes::from_static(subject.wasm), options)
        .await?;
    let wants_preinit =
        faasrt_snapshots::ModuleShape::read(subject.wasm).is_ok_and(|s| s.wants_preinit());
    if preinit && wants_preinit && !info.preinitialized {
        bail!("{} was not pre-initialized", subject.name);
    }
    let request = InvokeRequest {
        args: Vec::new(),
        input: subject.input.clone(),
    };
    // One warm-up invocation: code pages and the pool slot are touched once.
    runtime.invoke(subject.name, request.clone()).await?;
    let mut samples = Samples::new();
    let started = Instant::now();
    while samples.len() < budget.max
        && (samples.len() < budget.min || started.elapsed() < budget.time)
    {
        let sent = Instant::now();
        let invocation = runtime.invoke(subject.name, request.clone()).await?;
        samples.record(sent.elapsed());
        if invocation.output != subject.expected {
            bail!(
                "{} answered {:?}",
                subject.name,
                String::from_utf8_lossy(&invocation.output)
            );
        }
    }
    Ok(samples)
}

/// `wasmtime run` of the precompiled module, a new process each time.
fn process_mode(
    peer: &WasmtimePeer,
    subject: &Subject,
    scratch: &Path,
    budget: Budget,
) -> anyhow::Result<(Samples, u64)> {
    let wasm = scratch.join(format!("{}.wasm", subject.name));
    let cwasm = scratch.join(format!("{}.cwasm", subject.name));
    std::fs::write(&wasm, subject.wasm)?;
    peer.precompile(&wasm, &cwasm)?;
    spawn_many(budget, &subject.input, &subject.expected, || {
        let mut command = Command::new(&peer.wasmtime);
        command.args(["run", "--allow-precompiled"]);
        if subject.reactor {
            command.args(["--invoke", "handle"]);
        }
        command.arg(&cwasm);
        command
    })
}

/// Spawns `command()` until the budget is spent, feeding `input` and
/// checking the output; returns the latencies and the largest peak RSS.
fn spawn_many(
    budget: Budget,
    input: &[u8],
    expected: &[u8],
    command: impl Fn() -> Command,
) -> anyhow::Result<(Samples, u64)> {
    let mut samples = Samples::new();
    let mut peak_rss_kib = 0;
    let started = Instant::now();
    while samples.len() < budget.max
        && (samples.len() < budget.min || started.elapsed() < budget.time)
    {
        let sent = Instant::now();
        let mut child = command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning")?;
        child.stdin.take().expect("piped").write_all(input)?;
        let mut output = Vec::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_end(&mut output)?;
        let (status, rss) = wait_with_rusage(child.id())?;
        samples.record(sent.elapsed());
        peak_rss_kib = peak_rss_kib.max(rss);
        // Reactors under `wasmtime run --invoke` print the returned status
        // after their output; only the function's own output is compared.
        if !output.starts_with(expected) || status != 0 {
            bail!(
                "process exited {status} with {:?}",
                String::from_utf8_lossy(&output)
            );
        }
    }
    Ok((samples, peak_rss_kib))
}

/// Reaps `pid` and returns its exit status and peak RSS in KiB.
fn wait_with_rusage(pid: u32) -> anyhow::Result<(i32, u64)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's `Child` was
    // never waited on); `status` and `usage` are valid out-pointers.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss as u64))
}

/// The host build of a Rust example (`<name>-native`, built by
/// `faasrt-example-artifacts` into target/native-examples).
fn native_binary(name: &str) -> anyhow::Result<PathBuf> {
    let native = format!("{name}-native");
    match faasrt_example_artifacts::get_native(&native) {
        Some(example) => Ok(example.path()),
        None => bail!("no native build of {name}: native examples are built on x86_64 Linux only"),
    }
}

/// Opens a data directory holding `count` functions, from their artifacts
/// and after deleting them (every function recompiled).
fn restart(
    dir: &Path,
    count: usize,
    runs: u64,
    io: &tokio::runtime::Runtime,
) -> anyhow::Result<Vec<Measured>> {
    let bases: Vec<_> = faasrt_example_artifacts::EXAMPLES
        .iter()
        .filter(|e| !e.name.starts_with("go-"))
        .collect();
    io.block_on(async {
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        for i in 0..count {
            let base = bases[i % bases.len()];
            // A custom section makes each module distinct, so none shares
            // another's artifact.
            let wasm = with_custom_section(base.wasm, &format!("faasrt-bench-{i}"));
            runtime
                .deploy(
                    &format!("f{i:02}"),
                    Bytes::from(wasm),
                    DeployOptions::default(),
                )
                .await?;
        }
        anyhow::Ok(())
    })?;
    let artifacts = dir.join(faasrt_runtime::ARTIFACTS_DIR);
    let mut from_artifacts = Samples::new();
    let mut recompiling = Samples::new();
    for _ in 0..runs {
        let started = Instant::now();
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        from_artifacts.record(started.elapsed());
        if runtime.list().len() != count {
            bail!("the restart lost functions");
        }
        drop(runtime);
        for entry in std::fs::read_dir(&artifacts)? {
            std::fs::remove_file(entry?.path())?;
        }
        let started = Instant::now();
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        recompiling.record(started.elapsed());
        drop(runtime);
    }
    Ok(vec![
        Measured {
            subject: "restart-50".into(),
            mode: "artifacts",
            samples: from_artifacts,
            peak_rss_kib: None,
        },
        Measured {
            subject: "restart-50".into(),
            mode: "recompile",
            samples: recompiling,
            peak_rss_kib: None,
        },
    ])
}

/// Appends a custom section named `name` (empty payload) to `wasm`.
fn with_custom_section(wasm: &[u8], name: &str) -> Vec<u8> {
    let mut payload = leb128(name.len() as u64);
    payload.extend_from_slice(name.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    out.extend(leb128(payload.len() as u64));
    out.extend(payload);
    out
}

fn leb128(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encodes_like_the_spec() {
        assert_eq!(leb128(0), [0]);
        assert_eq!(leb128(127), [127]);
        assert_eq!(leb128(128), [0x80, 1]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn a_custom_section_keeps_the_module_valid_and_changes_its_bytes() {
        let hello = faasrt_example_artifacts::get("hello").expect("hello").wasm;
        let tagged = with_custom_section(hello, "tag");
        assert_ne!(tagged, hello);
        let shape = faasrt_snapshots::ModuleShape::read(&tagged).expect("still parses");
        assert_eq!(
            shape,
            faasrt_snapshots::ModuleShape::read(hello).expect("parses")
        );
    }
}
