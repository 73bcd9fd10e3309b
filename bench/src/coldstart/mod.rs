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
//!
//! This module runs the modes in that order; `subjects` names what is
//! started, `plan` how many samples each mode takes, `process`,
//! `in_process` and `restart` measure, and `results` turns the samples into
//! rows and files.

mod in_process;
mod plan;
mod process;
mod restart;
mod results;
mod subjects;

use crate::load::{self, LoadSpec};
use crate::peers::{self, WasmtimePeer};
use crate::report::Format;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use plan::Plan;
use results::Measured;
use std::path::{Path, PathBuf};
use std::time::Duration;
use subjects::Subject;

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

/// Runs the benchmark and prints/writes its results.
pub fn run(args: ColdstartArgs) -> anyhow::Result<()> {
    let plan = Plan::for_run(args.quick);
    let peer = find_wasmtime_peer();
    let faasrt = peers::faasrt_binary(args.faasrt.as_deref())?;
    let subjects = subjects::built();
    let progress = progress_bar(subjects.len());
    let scratch = tempfile::tempdir()?;
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut measured = Vec::new();

    for subject in &subjects {
        measured.extend(measure_starts(
            subject,
            &plan,
            peer.as_ref(),
            scratch.path(),
            &io,
            &progress,
        )?);
    }

    progress.set_message("http");
    measured.extend(measure_http(
        &faasrt,
        &subjects,
        plan.http,
        scratch.path(),
        &io,
        &progress,
    )?);

    progress.set_message(format!("restart with {} functions", plan.restart_functions));
    measured.extend(restart::restart(
        &scratch.path().join("restart-data"),
        plan.restart_functions,
        plan.restart_runs,
        &io,
    )?);
    progress.finish_and_clear();

    results::print_and_write(&measured, args.format, &args.out)
}

/// The peer `wasmtime run`, or `None` (with a note on stderr) where it is
/// not installed: the `process` mode is then left out.
fn find_wasmtime_peer() -> Option<WasmtimePeer> {
    match WasmtimePeer::find(&peers::peer_cache()) {
        Ok(peer) => Some(peer),
        Err(error) => {
            eprintln!("note: {error:#}; the process mode is left out");
            None
        }
    }
}

/// The progress bar on stderr for a run over `subjects` subjects.
fn progress_bar(subjects: usize) -> ProgressBar {
    ProgressBar::new((subjects * 6 + 2) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
    )
}

/// Every mode of `subject` but `http`, in order: `process` (where the peer
/// is installed), `native-process` (Rust subjects only), then the
/// in-process modes.
fn measure_starts(
    subject: &Subject,
    plan: &Plan,
    peer: Option<&WasmtimePeer>,
    scratch: &Path,
    io: &tokio::runtime::Runtime,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Measured>> {
    let mut measured = Vec::new();
    if let Some(peer) = peer {
        progress.set_message(format!("{}: wasmtime run", subject.name));
        let (samples, rss) =
            process::wasmtime_run(peer, subject, scratch, plan.budget_for(subject, "process"))?;
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
        let (samples, rss) =
            process::native_process(subject, plan.budget_for(subject, "native-process"))?;
        measured.push(Measured {
            subject: subject.name.into(),
            mode: "native-process",
            samples,
            peak_rss_kib: Some(rss),
        });
    }
    progress.inc(1);
    for (mode, pooling, preinit) in in_process::MODES {
        progress.set_message(format!("{}: {mode}", subject.name));
        let samples = io.block_on(in_process::measure(
            subject,
            pooling,
            preinit,
            plan.budget_for(subject, mode),
        ))?;
        measured.push(Measured {
            subject: subject.name.into(),
            mode,
            samples,
            peak_rss_kib: None,
        });
        progress.inc(1);
    }
    Ok(measured)
}

/// The `http` mode of every subject: one `faasrt serve` for all, loaded
/// over one connection for `duration` each.
fn measure_http(
    faasrt: &Path,
    subjects: &[Subject],
    duration: Duration,
    scratch: &Path,
    io: &tokio::runtime::Runtime,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Measured>> {
    let server = peers::start_faasrt(faasrt, &scratch.join("serve-data"))?;
    let mut measured = Vec::new();
    for subject in subjects {
        let spec = LoadSpec {
            addr: server.addr,
            path: format!("/v1/functions/{}/invoke", subject.name),
            body: subject.input.clone(),
            expected_body: subject.expected.clone(),
            connections: 1,
            warmup: Duration::from_millis(200),
            duration,
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
    Ok(measured)
}
