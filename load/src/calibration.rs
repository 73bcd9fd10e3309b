//! Calibrating the synthetic guest on the machine a run happens on: how
//! many nanoseconds one unit of its work and one byte of the memory it
//! touches cost there, measured through the run's own target before the
//! run's clock starts, so that a trace invocation's duration and memory
//! become the guest's `work=N memory=BYTES output=BYTES` line.
//!
//! Each cost is the difference between the shortest latency of invocations
//! that do the work and of invocations that do none, taken alternately (so
//! a drift in the machine's speed falls on both): what faasrt and the
//! transport add cancels out. The shortest, not the median: an invocation
//! preempted by something else on the machine only ever takes longer, and
//! a calibration under a concurrent build measured medians 1.7x the idle
//! machine's, which would have made every invocation's work that much too
//! short once the build was done. The work is grown until it takes at least
//! [`MIN_SIGNAL`] more than none. A duration then gives
//! `work = (duration - memory cost) / ns_per_unit`; the fixed cost of an
//! invocation (faasrt's own, a few microseconds in process) is not
//! subtracted: it is what faasrt adds, and the records show it.

use crate::demand::Demand;
use crate::inject::{HttpSender, HttpTarget, InjectOptions, Target, TraceIds};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The work is grown until it takes at least this much longer than none.
pub const MIN_SIGNAL: Duration = Duration::from_millis(20);

/// Memory touched to measure its cost.
pub const MEMORY_PROBE_BYTES: u64 = 16 * 1024 * 1024;

/// Pairs of invocations (with and without) each cost is measured over.
pub const PAIRS: usize = 15;

/// What the synthetic guest's work and memory cost on this machine.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Calibration {
    /// Nanoseconds per unit of work.
    pub ns_per_unit: f64,
    /// Nanoseconds per byte of memory touched.
    pub ns_per_memory_byte: f64,
    /// The shortest latency of an invocation that does nothing, in
    /// microseconds: faasrt's and the transport's own cost.
    pub idle_invocation_us: f64,
    /// The work the unit cost was measured with.
    pub units_measured: u64,
}

/// Calibration that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// An invocation of the synthetic function failed.
    #[error("calibrating {function}: the invocation `{input}` failed: {error}")]
    Failed {
        /// The function.
        function: String,
        /// What it was asked.
        input: String,
        /// What went wrong (the status and the server's message).
        error: String,
    },
    /// Work made no difference: the function is not the synthetic guest,
    /// or the machine is too noisy to measure it.
    #[error(
        "calibrating {function}: {units} units of work took no longer than none; is {function} the synthetic example (guest-sdk/examples/src/synthetic.rs)?"
    )]
    NoSignal {
        /// The function.
        function: String,
        /// The largest work tried.
        units: u64,
    },
    /// The calibration's async runtime cannot start.
    #[error("calibrating: cannot start an async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl Calibration {
    /// The guest's request line for `demand`, padded with spaces after a
    /// newline to `demand.input_bytes` where that is longer.
    pub fn input_for(&self, demand: &Demand) -> String {
        let memory_ns = self.ns_per_memory_byte * demand.memory_bytes as f64;
        let work_ns = (demand.duration_us as f64 * 1_000.0 - memory_ns).max(0.0);
        let work = (work_ns / self.ns_per_unit).round() as u64;
        let mut line = format!(
            "work={work} memory={} output={}\n",
            demand.memory_bytes, demand.output_bytes
        );
        let wanted = usize::try_from(demand.input_bytes).unwrap_or(usize::MAX);
        if wanted > line.len() {
            line.extend(std::iter::repeat_n(' ', wanted - line.len()));
        }
        line
    }
}

/// Calibrates `function` of the faasrt server `target` over HTTP.
///
/// # Errors
/// [`CalibrationError`].
pub fn calibrate_http(
    target: &HttpTarget,
    function: &str,
    options: &InjectOptions,
) -> Result<Calibration, CalibrationError> {
    let functions = [Arc::<str>::from(function)];
    calibrate(|| HttpSender::new(target, &functions, options), function)
}

/// Calibrates the synthetic guest behind `make_target()`'s function 0, on
/// an async runtime of its own (the target is made on it).
///
/// # Errors
/// [`CalibrationError`].
pub fn calibrate<T: Target>(
    make_target: impl FnOnce() -> T,
    function: &str,
) -> Result<Calibration, CalibrationError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CalibrationError::Runtime)?;
    let target = {
        let _entered = runtime.enter();
        make_target()
    };
    runtime.block_on(measure(&target, function))
}

/// Measures the costs through `target`, invoking its function 0 one call
/// at a time.
///
/// # Errors
/// [`CalibrationError::Failed`], [`CalibrationError::NoSignal`].
pub async fn measure<T: Target>(
    target: &T,
    function: &str,
) -> Result<Calibration, CalibrationError> {
    let probe = Probe { target, function };
    let idle = "work=0 memory=0 output=0\n";
    // Warm: the first invocations pay for connections and instances.
    for _ in 0..3 {
        probe.latency_ns(idle).await?;
    }
    let mut units = 1_000u64;
    let (idle_ns, unit_ns) = loop {
        let with = format!("work={units} memory=0 output=0\n");
        let (idle_ns, with_ns) = probe.pairs(idle, &with, 3).await?;
        if with_ns.saturating_sub(idle_ns) >= MIN_SIGNAL.as_nanos() as u64 {
            // Measured again, at the size that shows.
            let (idle_ns, with_ns) = probe.pairs(idle, &with, PAIRS).await?;
            break (idle_ns, with_ns.saturating_sub(idle_ns));
        }
        if units >= 1 << 36 {
            return Err(CalibrationError::NoSignal {
                function: function.to_owned(),
                units,
            });
        }
        units *= 4;
    };
    if unit_ns == 0 {
        return Err(CalibrationError::NoSignal {
            function: function.to_owned(),
            units,
        });
    }
    let touch = format!("work=0 memory={MEMORY_PROBE_BYTES} output=0\n");
    let (idle_again, touch_ns) = probe.pairs(idle, &touch, PAIRS).await?;
    Ok(Calibration {
        ns_per_unit: unit_ns as f64 / units as f64,
        ns_per_memory_byte: touch_ns.saturating_sub(idle_again) as f64 / MEMORY_PROBE_BYTES as f64,
        idle_invocation_us: idle_ns as f64 / 1_000.0,
        units_measured: units,
    })
}

struct Probe<'a, T> {
    target: &'a T,
    function: &'a str,
}

impl<T: Target> Probe<'_, T> {
    /// The shortest latencies of `pairs` invocations of `a` and of `b`,
    /// taken alternately.
    async fn pairs(&self, a: &str, b: &str, pairs: usize) -> Result<(u64, u64), CalibrationError> {
        let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
        for _ in 0..pairs {
            of_a.push(self.latency_ns(a).await?);
            of_b.push(self.latency_ns(b).await?);
        }
        Ok((shortest(&of_a), shortest(&of_b)))
    }

    async fn latency_ns(&self, input: &str) -> Result<u64, CalibrationError> {
        let trace = TraceIds {
            run_id: 0,
            index: 0,
        };
        let started = Instant::now();
        let answer = self
            .target
            .invoke(0, Bytes::copy_from_slice(input.as_bytes()), trace)
            .await;
        let elapsed = started.elapsed();
        if !answer.succeeded() {
            return Err(CalibrationError::Failed {
                function: self.function.to_owned(),
                input: input.trim_end().to_owned(),
                error: format!(
                    "status {}: {}",
                    answer.status,
                    answer.error.unwrap_or_default()
                ),
            });
        }
        Ok(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }
}

fn shortest(values: &[u64]) -> u64 {
    values.iter().copied().min().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::Answer;

    /// A target that takes 10 us plus 1 ns per unit and 0.5 ns per byte.
    struct Modelled;

    impl Target for Modelled {
        async fn invoke(&self, _function: usize, input: Bytes, _trace: TraceIds) -> Answer {
            let line = std::str::from_utf8(&input).unwrap();
            let value = |key: &str| -> u64 {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let ns = 10_000 + value("work") + value("memory") / 2;
            std::thread::sleep(Duration::from_nanos(ns));
            Answer::ok(0)
        }
    }

    #[test]
    fn measures_what_work_and_memory_cost() {
        let c = calibrate(|| Modelled, "synthetic").unwrap();
        assert!((0.7..1.5).contains(&c.ns_per_unit), "{c:?}");
        assert!((0.3..0.8).contains(&c.ns_per_memory_byte), "{c:?}");
        assert!(
            c.units_measured >= MIN_SIGNAL.as_nanos() as u64 / 2,
            "{c:?}"
        );
    }

    #[test]
    fn preemptions_that_only_add_time_do_not_bias_it() {
        /// Modelled, but two invocations in three share their core with
        /// another process and take 2.5x as long (a median would take
        /// those, and calibrate the work 2.5x too dear).
        struct Preempted(std::sync::atomic::AtomicU32);
        impl Target for Preempted {
            async fn invoke(&self, function: usize, input: Bytes, trace: TraceIds) -> Answer {
                let shared = !self
                    .0
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .is_multiple_of(3);
                let started = Instant::now();
                let answer = Modelled.invoke(function, input, trace).await;
                if shared {
                    std::thread::sleep(started.elapsed().mul_f64(1.5));
                }
                answer
            }
        }
        let c = calibrate(|| Preempted(0.into()), "synthetic").unwrap();
        assert!((0.7..1.5).contains(&c.ns_per_unit), "{c:?}");
        assert!((0.3..0.8).contains(&c.ns_per_memory_byte), "{c:?}");
    }

    #[test]
    fn a_failing_function_is_a_clear_error() {
        struct Missing;
        impl Target for Missing {
            async fn invoke(&self, _: usize, _: Bytes, _: TraceIds) -> Answer {
                Answer {
                    status: 404,
                    response_bytes: 0,
                    error: Some("no function synthetic".into()),
                }
            }
        }
        let error = calibrate(|| Missing, "synthetic").unwrap_err().to_string();
        assert!(
            error.contains("status 404") && error.contains("no function synthetic"),
            "{error}"
        );
    }

    #[test]
    fn a_function_that_ignores_the_work_is_caught() {
        struct Constant;
        impl Target for Constant {
            async fn invoke(&self, _: usize, _: Bytes, _: TraceIds) -> Answer {
                Answer::ok(0)
            }
        }
        let error = calibrate(|| Constant, "hello").unwrap_err();
        assert!(
            matches!(error, CalibrationError::NoSignal { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_demand_becomes_work_after_its_memory_s_share() {
        let c = Calibration {
            ns_per_unit: 2.0,
            ns_per_memory_byte: 0.5,
            idle_invocation_us: 10.0,
            units_measured: 1,
        };
        let demand = Demand {
            duration_us: 10,
            memory_bytes: 4_000,
            input_bytes: 60,
            output_bytes: 7,
        };
        let line = c.input_for(&demand);
        assert!(
            line.starts_with("work=4000 memory=4000 output=7\n"),
            "{line:?}"
        );
        assert_eq!(line.len(), 60);
        // Memory that costs more than the duration: no work, never negative.
        let heavy = Demand {
            memory_bytes: 1 << 30,
            ..demand
        };
        assert!(c.input_for(&heavy).starts_with("work=0 "));
    }
}
