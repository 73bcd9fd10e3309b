//! `faasrt-load run`: the schedule sent, the run directory written, a
//! summary printed.

use super::{RunArgs, generate};
use anyhow::Context;
use faasrt_load::{HttpTarget, InjectOptions, Mapping, Percentiles, Schedule, record, run_http};
use std::time::Duration;

pub(super) fn run(args: RunArgs) -> anyhow::Result<()> {
    let (schedule, requested) = match &args.schedule {
        Some(path) => {
            let schedule = Schedule::read_csv(path)?;
            let requested = schedule.entries().len() as u64;
            (schedule, requested)
        }
        None => generate(&args.generate)?,
    };
    let mapping = Mapping::new(&args.pairs, args.functions.clone())?;
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    let options = InjectOptions {
        max_in_flight: args.max_in_flight,
        workers: args.workers,
        request_timeout: Duration::from_secs_f64(args.timeout),
        ..InjectOptions::default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the run directory {}", args.out.display()))?;
    schedule.write_csv(&args.out.join("schedule.csv"))?;
    let target = HttpTarget {
        addr: args.target,
        token,
    };
    let run = run_http(&schedule, &mapping, &target, &options)?;
    record::write_csv(&run.records, &args.out.join("invocations.csv"))?;
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
        "scheduled": schedule.entries().len(),
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
        "target": args.target.to_string(),
        "faasrt_load_version": env!("CARGO_PKG_VERSION"),
    });
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    println!(
        "{} sent of {} scheduled in {:.1} s: {} succeeded, {} failed; latency from the scheduled time p50 {:.0} us p99 {:.0} us; send lag p50 {:.0} us p99 {:.0} us; injector CPU {:.2} s",
        run.records.len(),
        schedule.entries().len(),
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
    if let Some(reason) = run.aborted {
        anyhow::bail!(
            "run stopped: {reason}; what was sent is in {}",
            args.out.display()
        );
    }
    Ok(())
}
