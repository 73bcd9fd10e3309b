//! `faasrt-load run`: the schedule sent, the run directory written, a
//! summary printed.

use super::{ClosedArgs, RunArgs, generate};
use anyhow::Context;
use faasrt_load::calibration::{self, Calibration};
use faasrt_load::dataset;
use faasrt_load::platform_series::{PlatformFollower, PlatformSample};
use faasrt_load::server_journal::{Followed, JournalFollower, ServerRecord};
use faasrt_load::{
    ClosedLoop, HttpTarget, InjectOptions, Mapping, NullTarget, Percentiles, Run, RuntimeTarget,
    Schedule, deployed_functions, open_runtime, record, run_closed_loop, run_http, run_open_loop,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) fn run(args: RunArgs) -> anyhow::Result<()> {
    pin(args.connect.cpus.as_deref())?;
    let (schedule, requested) = match &args.schedule {
        Some(path) => {
            let schedule = Schedule::read_csv(path)?;
            let requested = schedule.entries().len() as u64;
            (schedule, requested)
        }
        None => {
            create_run_dir(&args.out)?;
            generate(&args.generate, Some(&args.out.join("schedule.csv")))?
        }
    };
    let target = target(args.connect.target, args.connect.token_file.as_deref())?;
    let options = options(args.max_in_flight, &args.connect)?;
    create_run_dir(&args.out)?;
    schedule.write_csv(&args.out.join("schedule.csv"))?;
    let runtime = if args.in_process {
        Some(open_runtime(&args.modules)?)
    } else {
        None
    };
    let (schedule, mapping, calibration) = match &args.synthetic_function {
        Some(name) => {
            let calibration =
                calibrate_synthetic(name, &schedule, runtime.as_ref(), &target, &options)?;
            std::fs::write(
                args.out.join("calibration.json"),
                serde_json::to_string_pretty(&calibration)? + "\n",
            )?;
            anyhow::ensure!(
                args.memory_scale.is_finite() && args.memory_scale >= 0.0,
                "--memory-scale must be a number >= 0"
            );
            let played = schedule.with_inputs(|entry| {
                let mut demand = entry.demand.unwrap_or_default();
                demand.memory_bytes = (demand.memory_bytes as f64 * args.memory_scale) as u64;
                Some(calibration.input_for(&demand))
            });
            (
                played,
                Mapping::new(&[], vec![name.clone()])?,
                Some(calibration),
            )
        }
        None => (
            schedule,
            Mapping::new(&args.pairs, args.functions.clone())?,
            None,
        ),
    };
    // Only a server has a journal and a platform series to follow.
    let remote = !args.in_process && !args.null_target;
    let follower = (remote && !args.no_journal).then(|| JournalFollower::start(&target));
    let platform = (remote && !args.no_platform).then(|| PlatformFollower::start(&target));
    let progress = ProgressBar::start(schedule.entries().len() as u64);
    let options = InjectOptions {
        progress: Some(progress.counts()),
        ..options
    };
    let run = if let Some(runtime) = runtime {
        let functions = deployed_functions(&schedule, &mapping)?;
        run_open_loop(&schedule, &functions, &options, |_| RuntimeTarget {
            runtime: runtime.clone(),
            functions: functions.clone(),
        })
    } else if args.null_target {
        let functions = deployed_functions(&schedule, &mapping)?;
        run_open_loop(&schedule, &functions, &options, |_| NullTarget)
    } else {
        run_http(&schedule, &mapping, &target, &options)
    };
    progress.finish();
    let run = run?;
    let followed = follower.map(|f| f.finish(Duration::from_millis(300)));
    if let Some(followed) = &followed {
        report_joined(&run, followed);
    }
    // The sample that covers the run's end comes at the server's next
    // tick (1 s by default).
    let series = platform.map(|p| p.finish(Duration::from_millis(1_100)));
    if let Some(series) = &series {
        println!(
            "platform: {} samples ({} lost by the feed){}",
            series.collected.samples.len(),
            series.collected.lost,
            series
                .error
                .as_ref()
                .map_or(String::new(), |e| format!("; {e}"))
        );
    }
    let server = followed.map(|f| f.by_trace).unwrap_or_default();
    let samples = series.map(|s| s.collected.samples).unwrap_or_default();
    let demands: Vec<_> = schedule.entries().iter().map(|e| e.demand).collect();
    write_dataset(&args.out, &run, &server, &samples, &demands)?;
    let manifest = Manifest {
        target: args.connect.target,
        seed: args.schedule.is_none().then_some(args.generate.seed),
        schedule: &args.out.join("schedule.csv"),
        calibration,
    };
    report(
        &run,
        requested,
        schedule.entries().len() as u64,
        &manifest,
        &args.out,
    )
}

/// Writes `invocations.{csv,parquet}` (the injector's rows joined with the
/// server's), `platform.{csv,parquet}` and the plots.
fn write_dataset(
    out: &Path,
    run: &Run,
    server: &HashMap<String, ServerRecord>,
    samples: &[PlatformSample],
    demands: &[Option<faasrt_load::demand::Demand>],
) -> anyhow::Result<()> {
    let invocations = dataset::invocations_table(&run.records, server, demands);
    invocations.write_csv(&out.join("invocations.csv"))?;
    invocations.write(&out.join("invocations.parquet"))?;
    let platform = dataset::platform_table(samples);
    platform.write_csv(&out.join("platform.csv"))?;
    platform.write(&out.join("platform.parquet"))?;
    dataset::plots::draw_all(out, &run.records, server, samples)?;
    Ok(())
}

/// A progress bar on stderr while a run goes, when stderr is a terminal
/// (indicatif draws nothing otherwise).
struct ProgressBar {
    counts: std::sync::Arc<faasrt_load::Progress>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    drawer: std::thread::JoinHandle<()>,
}

impl ProgressBar {
    fn start(total: u64) -> Self {
        let counts = std::sync::Arc::new(faasrt_load::Progress::default());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} invocations done, {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        let (seen, flag) = (counts.clone(), stop.clone());
        // Its own thread: the bar never runs on the sending threads.
        let drawer = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                bar.set_position(seen.done());
                bar.set_message(format!("{} failed", seen.failed()));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.set_position(seen.done());
            bar.finish_and_clear();
        });
        ProgressBar {
            counts,
            stop,
            drawer,
        }
    }

    fn counts(&self) -> std::sync::Arc<faasrt_load::Progress> {
        self.counts.clone()
    }

    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.drawer.join();
    }
}

/// Says how many answered invocations joined their server record.
fn report_joined(run: &Run, followed: &Followed) {
    let joined = run
        .records
        .iter()
        .filter(|r| followed.by_trace.contains_key(&r.trace_id()))
        .count();
    let answered = run.records.iter().filter(|r| r.status != 0).count();
    println!(
        "server journal: {joined} of {answered} answered invocations joined by trace id ({} lost by the feed){}",
        followed.lost,
        followed
            .error
            .as_ref()
            .map_or(String::new(), |e| format!("; {e}"))
    );
}

pub(super) fn closed(args: ClosedArgs) -> anyhow::Result<()> {
    pin(args.connect.cpus.as_deref())?;
    anyhow::ensure!(
        !args.functions.is_empty(),
        "give --function NAME (repeatable)"
    );
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0,
        "--duration must be a positive number of seconds"
    );
    let target = target(args.connect.target, args.connect.token_file.as_deref())?;
    let options = options(args.clients, &args.connect)?;
    create_run_dir(&args.out)?;
    let load = ClosedLoop {
        functions: args.functions,
        clients: args.clients,
        duration: Duration::from_secs_f64(args.duration),
        input: args.input.unwrap_or_default().into(),
    };
    let run = run_closed_loop(&load, &target, &options)?;
    let sent = run.records.len() as u64;
    println!(
        "{:.0} invocations per second with {} clients",
        sent as f64 / run.wall.as_secs_f64(),
        load.clients
    );
    write_dataset(&args.out, &run, &HashMap::new(), &[], &[])?;
    let manifest = Manifest {
        target: args.connect.target,
        seed: None,
        schedule: Path::new(""),
        calibration: None,
    };
    report(&run, sent, sent, &manifest, &args.out)
}

/// What the manifest says of a run besides the machine.
struct Manifest<'a> {
    target: std::net::SocketAddr,
    /// The generators' seed, when the schedule was generated here.
    seed: Option<u64>,
    /// The saved schedule, hashed into the manifest.
    schedule: &'a Path,
    /// The synthetic guest's calibration, when it played the trace.
    calibration: Option<Calibration>,
}

/// Calibrates the synthetic guest `name` through the run's target (the
/// in-process `runtime`, or the server at `target`) and says what it
/// measured.
fn calibrate_synthetic(
    name: &str,
    schedule: &Schedule,
    runtime: Option<&faasrt_runtime::Runtime>,
    target: &HttpTarget,
    options: &InjectOptions,
) -> anyhow::Result<Calibration> {
    let with_demand = schedule
        .entries()
        .iter()
        .filter(|e| e.demand.is_some())
        .count();
    anyhow::ensure!(
        with_demand > 0,
        "--synthetic-function plays each invocation's demand (duration, memory, bytes), and this schedule has none: give an Azure 2019 trace with --durations and --memory, an Azure 2021 or Huawei 2025 trace, or a spec with duration_ms"
    );
    if with_demand < schedule.entries().len() {
        eprintln!(
            "warning: {} of {} invocations have no demand; {name} does no work for them",
            schedule.entries().len() - with_demand,
            schedule.entries().len()
        );
    }
    let calibration = match runtime {
        Some(runtime) => calibration::calibrate(
            || RuntimeTarget {
                runtime: runtime.clone(),
                functions: vec![std::sync::Arc::from(name)],
            },
            name,
        )?,
        None => calibration::calibrate_http(target, name, options)?,
    };
    println!(
        "calibrated {name}: {:.3} ns per unit of work (measured over {} units), {:.4} ns per byte of memory touched, {:.0} us for an invocation that does nothing",
        calibration.ns_per_unit,
        calibration.units_measured,
        calibration.ns_per_memory_byte,
        calibration.idle_invocation_us
    );
    Ok(calibration)
}

/// Writes `manifest.json`: the versions, the configuration and its hash,
/// the seed and the machine.
fn write_manifest(manifest: &Manifest, out: &Path) -> anyhow::Result<()> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let command_line: Vec<String> = std::env::args().collect();
    let schedule = std::fs::read(manifest.schedule).unwrap_or_default();
    // The command line without the run directory, and the schedule: two
    // runs with the same hash sent the same invocations the same way.
    let mut configuration: Vec<&str> = Vec::new();
    let mut args = command_line.iter().skip(1).map(String::as_str);
    while let Some(arg) = args.next() {
        match arg {
            "--out" => {
                args.next();
            }
            _ if arg.starts_with("--out=") => {}
            _ => configuration.push(arg),
        }
    }
    let mut hashed = configuration.join("\0").into_bytes();
    hashed.extend_from_slice(&schedule);
    let manifest = serde_json::json!({
        "faasrt_load_version": env!("CARGO_PKG_VERSION"),
        "git_revision": env!("FAASRT_GIT_REVISION"),
        "command_line": command_line,
        "config_xxh3": format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&hashed)),
        "schedule_xxh3": format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&schedule)),
        "seed": manifest.seed,
        "calibration": manifest.calibration,
        "target": manifest.target.to_string(),
        "written_at_unix_s": started,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "cpu_model": cpu_model,
        "cpus_online": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpus_allowed": read("/proc/self/status")
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|v| v.trim().to_owned()))
            .unwrap_or_default(),
    });
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(())
}

/// Pins the process to `cpus` before it starts any thread.
fn pin(cpus: Option<&str>) -> anyhow::Result<()> {
    if let Some(list) = cpus {
        faasrt_load::cpus::pin_to(&faasrt_load::cpus::parse_cpu_list(list)?)?;
    }
    Ok(())
}

fn target(addr: std::net::SocketAddr, token_file: Option<&Path>) -> anyhow::Result<HttpTarget> {
    let token = match token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    Ok(HttpTarget { addr, token })
}

fn options(max_in_flight: usize, connect: &super::ConnectArgs) -> anyhow::Result<InjectOptions> {
    let timeout = connect.timeout;
    anyhow::ensure!(
        timeout.is_finite() && timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    Ok(InjectOptions {
        max_in_flight,
        workers: connect.workers,
        connections: connect.connections,
        request_timeout: Duration::from_secs_f64(timeout),
        ..InjectOptions::default()
    })
}

fn create_run_dir(out: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the run directory {}", out.display()))
}

/// Writes `latency.hgrm`, `manifest.json` and `summary.json` into `out`
/// and prints the summary; an aborted run is an error.
fn report(
    run: &Run,
    requested: u64,
    scheduled: u64,
    manifest: &Manifest,
    out: &Path,
) -> anyhow::Result<()> {
    let target = manifest.target;
    record::write_hgrm(
        run.records
            .iter()
            .filter(|r| r.succeeded())
            .map(|r| r.latency_ns()),
        &out.join("latency.hgrm"),
    )?;
    write_manifest(manifest, out)?;
    let succeeded = run.records.iter().filter(|r| r.succeeded()).count();
    let latency = Percentiles::of(
        run.records
            .iter()
            .filter(|r| r.succeeded())
            .map(|r| r.latency_ns()),
    );
    let lag = Percentiles::of(run.records.iter().map(|r| r.send_lag_ns()));
    let summary = serde_json::json!({
        "requested": requested,
        "scheduled": scheduled,
        "sent": run.records.len(),
        "succeeded": succeeded,
        "failed": run.records.len() - succeeded,
        "latency_from_scheduled_us": {"p50": latency.p50_us, "p99": latency.p99_us, "max": latency.max_us},
        "send_lag_us": {"p50": lag.p50_us, "p99": lag.p99_us, "max": lag.max_us},
        "wall_s": run.wall.as_secs_f64(),
        "sender_cpu_s": run.sender_cpu.as_secs_f64(),
        "injector_cpu_s": run.process_cpu.as_secs_f64(),
        "warning": run.warning,
        "aborted": run.aborted,
        "target": target.to_string(),
        "faasrt_load_version": env!("CARGO_PKG_VERSION"),
    });
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    println!(
        "{} sent of {} scheduled in {:.1} s: {} succeeded, {} failed; latency from the scheduled time p50 {:.0} us p99 {:.0} us; send lag p50 {:.0} us p99 {:.0} us; injector CPU {:.2} s",
        run.records.len(),
        scheduled,
        run.wall.as_secs_f64(),
        succeeded,
        run.records.len() - succeeded,
        latency.p50_us,
        latency.p99_us,
        lag.p50_us,
        lag.p99_us,
        run.process_cpu.as_secs_f64()
    );
    if let Some(warning) = &run.warning {
        eprintln!("warning: {warning}");
    }
    if let Some(reason) = &run.aborted {
        anyhow::bail!(
            "run stopped: {reason}; what was sent is in {}",
            out.display()
        );
    }
    Ok(())
}
