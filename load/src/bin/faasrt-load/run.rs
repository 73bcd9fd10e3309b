//! `faasrt-load run`: the schedule sent, the run directory written, a
//! summary printed.

use super::{ClosedArgs, RunArgs, generate};
use anyhow::Context;
use faasrt_load::platform_series::{self, PlatformFollower};
use faasrt_load::server_journal::{Followed, JournalFollower};
use faasrt_load::{
    ClosedLoop, HttpTarget, InjectOptions, Mapping, Percentiles, Run, Schedule, record,
    run_closed_loop, run_http,
};
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
        None => generate(&args.generate)?,
    };
    let mapping = Mapping::new(&args.pairs, args.functions.clone())?;
    let target = target(args.connect.target, args.connect.token_file.as_deref())?;
    let options = options(
        args.max_in_flight,
        args.connect.workers,
        args.connect.timeout,
    )?;
    create_run_dir(&args.out)?;
    schedule.write_csv(&args.out.join("schedule.csv"))?;
    let follower = (!args.no_journal).then(|| JournalFollower::start(&target));
    let platform = (!args.no_platform).then(|| PlatformFollower::start(&target));
    let run = run_http(&schedule, &mapping, &target, &options)?;
    if let Some(follower) = follower {
        let followed = follower.finish(Duration::from_millis(300));
        write_server_records(&run, &followed, &args.out)?;
    }
    if let Some(platform) = platform {
        // The sample that covers the run's end comes at the server's next
        // tick (1 s by default).
        let series = platform.finish(Duration::from_millis(1_100));
        platform_series::write_csv(&series.collected.samples, &args.out.join("platform.csv"))?;
        println!(
            "platform: {} samples ({} lost by the feed){}",
            series.collected.samples.len(),
            series.collected.lost,
            series.error.map_or(String::new(), |e| format!("; {e}"))
        );
    }
    report(
        &run,
        requested,
        schedule.entries().len() as u64,
        args.connect.target,
        &args.out,
    )
}

/// Writes `server.csv`: the server's journal record of each invocation the
/// run sent, by trace id, and says how many joined.
fn write_server_records(run: &Run, followed: &Followed, out: &Path) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_path(out.join("server.csv"))?;
    writer.write_record([
        "trace_id",
        "seq",
        "start_kind",
        "server_arrival_ns",
        "server_start_ns",
        "server_ready_ns",
        "server_end_ns",
        "server_queue_ns",
        "server_run_ns",
        "outcome",
        "cpu_ns",
        "peak_memory_bytes",
    ])?;
    let optional = |value: Option<u64>| value.map_or(String::new(), |v| v.to_string());
    let mut joined = 0;
    for record in &run.records {
        let Some(server) = followed.by_trace.get(&record.trace_id) else {
            continue;
        };
        joined += 1;
        writer.write_record([
            record.trace_id.as_str(),
            &server.seq.to_string(),
            &server.start_kind,
            &server.arrival_ns.to_string(),
            &server.start_ns.to_string(),
            &server.ready_ns.to_string(),
            &server.end_ns.to_string(),
            &server
                .start_ns
                .saturating_sub(server.arrival_ns)
                .to_string(),
            &server.end_ns.saturating_sub(server.start_ns).to_string(),
            &server.outcome,
            &optional(server.cpu_ns),
            &optional(server.peak_memory_bytes),
        ])?;
    }
    writer.flush()?;
    let answered = run.records.iter().filter(|r| r.status != 0).count();
    println!(
        "server journal: {joined} of {answered} answered invocations joined by trace id ({} lost by the feed){}",
        followed.lost,
        followed
            .error
            .as_ref()
            .map_or(String::new(), |e| format!("; {e}"))
    );
    Ok(())
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
    let options = options(args.clients, args.connect.workers, args.connect.timeout)?;
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
    report(&run, sent, sent, args.connect.target, &args.out)
}

/// Writes `manifest.json`: what ran, where, and how it was asked for.
fn write_manifest(target: std::net::SocketAddr, out: &Path) -> anyhow::Result<()> {
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
    let manifest = serde_json::json!({
        "faasrt_load_version": env!("CARGO_PKG_VERSION"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "target": target.to_string(),
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

fn options(max_in_flight: usize, workers: usize, timeout: f64) -> anyhow::Result<InjectOptions> {
    anyhow::ensure!(
        timeout.is_finite() && timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    Ok(InjectOptions {
        max_in_flight,
        workers,
        request_timeout: Duration::from_secs_f64(timeout),
        ..InjectOptions::default()
    })
}

fn create_run_dir(out: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the run directory {}", out.display()))
}

/// Writes `invocations.csv` and `summary.json` into `out` and prints the
/// summary; an aborted run is an error.
fn report(
    run: &Run,
    requested: u64,
    scheduled: u64,
    target: std::net::SocketAddr,
    out: &Path,
) -> anyhow::Result<()> {
    record::write_csv(&run.records, &out.join("invocations.csv"))?;
    record::write_hgrm(
        run.records
            .iter()
            .filter(|r| r.succeeded())
            .map(|r| r.latency_ns()),
        &out.join("latency.hgrm"),
    )?;
    write_manifest(target, out)?;
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
