//! Synthetic open-loop workloads, written as a JSON spec: per function, a
//! rate over time (constant, a ramp, steps), how arrivals follow it
//! (`poisson` or `regular`), bursts, and windows outside which it is idle.
//!
//! ```json
//! {"duration_s": 60, "seed": 1, "functions": [
//!   {"function": "hello", "rate": {"constant": 100}},
//!   {"function": "upper", "rate": {"ramp": {"from": 10, "to": 200}}, "arrivals": "regular"},
//!   {"function": "wc", "rate": {"steps": [[0, 10], [30, 100]]}, "active": [[0, 20], [40, 60]]},
//!   {"function": "grep", "bursts": {"every_s": 10, "size": 50, "spread_ms": 5}, "input": "error"},
//!   {"function": "work", "rate": {"constant": 20}, "duration_ms": 5, "memory_mb": 32, "output_bytes": 100}
//! ]}
//! ```
//!
//! `duration_ms`, `memory_mb` and `output_bytes` give every invocation of a
//! function that demand, for the calibrated synthetic guest
//! (`faasrt-load run --synthetic-function`).

use crate::arrival::function_rng;
use crate::demand::Demand;
use crate::schedule::Schedule;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::Deserialize;
use std::path::Path;

/// A synthetic workload: its length, its seed and its functions.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// How long the workload lasts, in seconds.
    pub duration_s: f64,
    /// The seed every function's generator is drawn from.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// What each function receives.
    pub functions: Vec<FunctionLoad>,
}

fn default_seed() -> u64 {
    1
}

/// The load on one function.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionLoad {
    /// The function (its name in the schedule, mapped as a trace id is).
    pub function: String,
    /// Its rate over time, in invocations per second; none for a function
    /// that only gets bursts.
    #[serde(default)]
    pub rate: Option<Rate>,
    /// How arrivals follow the rate.
    #[serde(default)]
    pub arrivals: Process,
    /// Bursts on top of the rate.
    #[serde(default)]
    pub bursts: Option<Bursts>,
    /// `[from_s, to_s]` windows; outside them the function gets nothing.
    /// None: active throughout.
    #[serde(default)]
    pub active: Option<Vec<[f64; 2]>>,
    /// The input of each invocation.
    #[serde(default)]
    pub input: Option<String>,
    /// How long each invocation runs, for the synthetic guest.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Memory each invocation touches, in MiB, for the synthetic guest.
    #[serde(default)]
    pub memory_mb: Option<f64>,
    /// Bytes each invocation answers, for the synthetic guest.
    #[serde(default)]
    pub output_bytes: Option<u64>,
}

/// A rate over time, in invocations per second.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rate {
    /// The same rate throughout.
    Constant(f64),
    /// From one rate to another, linearly over the whole duration.
    Ramp {
        /// The rate at the start.
        from: f64,
        /// The rate at the end.
        to: f64,
    },
    /// `[at_s, rate]` pairs: each rate holds from its time to the next
    /// pair's (0 before the first).
    Steps(Vec<[f64; 2]>),
}

/// How arrivals follow a rate.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// A (non-homogeneous) Poisson process with the rate as its intensity.
    #[default]
    Poisson,
    /// Evenly spaced at the rate: the k-th arrival when the rate's integral
    /// reaches k.
    Regular,
}

/// Groups of invocations sent together.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bursts {
    /// Seconds between bursts, the first at 0.
    pub every_s: f64,
    /// Invocations per burst.
    pub size: u32,
    /// Each burst's invocations fall uniformly within this many
    /// milliseconds of its start.
    #[serde(default)]
    pub spread_ms: f64,
}

/// A spec that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a spec.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: std::path::PathBuf,
        /// Where and why, from the JSON reader.
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Time step of the `regular` process's integration, in seconds.
const STEP_S: f64 = 1e-4;

impl Spec {
    /// Reads a spec from a JSON file and checks its values.
    ///
    /// # Errors
    /// [`SpecError`] naming the file, the JSON line and column, or the
    /// value out of range.
    pub fn read(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_owned(),
            source,
        })?;
        let spec: Spec = serde_json::from_str(&text).map_err(|source| SpecError::Json {
            path: path.to_owned(),
            source,
        })?;
        spec.check()?;
        Ok(spec)
    }

    /// Checks that every value is in range.
    ///
    /// # Errors
    /// [`SpecError::Invalid`] saying which.
    pub fn check(&self) -> Result<(), SpecError> {
        let bad = |what: String| Err(SpecError::Invalid(what));
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return bad(format!("duration_s is {}; it must be > 0", self.duration_s));
        }
        if self.functions.is_empty() {
            return bad("functions is empty".into());
        }
        for load in &self.functions {
            let name = &load.function;
            let rate_ok = |r: f64| r.is_finite() && r >= 0.0;
            match &load.rate {
                Some(Rate::Constant(r)) if !rate_ok(*r) => {
                    return bad(format!("{name}: rate {r} must be >= 0"));
                }
                Some(Rate::Ramp { from, to }) if !rate_ok(*from) || !rate_ok(*to) => {
                    return bad(format!("{name}: ramp rates {from} and {to} must be >= 0"));
                }
                Some(Rate::Steps(steps)) => {
                    if steps
                        .iter()
                        .any(|[at, r]| !rate_ok(*r) || !at.is_finite() || *at < 0.0)
                    {
                        return bad(format!("{name}: every step must be [at_s >= 0, rate >= 0]"));
                    }
                    if !steps.is_sorted_by(|a, b| a[0] < b[0]) {
                        return bad(format!("{name}: steps must be in increasing time"));
                    }
                }
                None if load.bursts.is_none() => {
                    return bad(format!("{name}: neither a rate nor bursts"));
                }
                _ => {}
            }
            if let Some(b) = &load.bursts
                && !(b.every_s.is_finite()
                    && b.every_s > 0.0
                    && b.spread_ms.is_finite()
                    && b.spread_ms >= 0.0)
            {
                return bad(format!(
                    "{name}: bursts need every_s > 0 and spread_ms >= 0"
                ));
            }
            if let Some(windows) = &load.active
                && windows
                    .iter()
                    .any(|[from, to]| !(from.is_finite() && to.is_finite() && from <= to))
            {
                return bad(format!(
                    "{name}: every active window must be [from_s, to_s] with from_s <= to_s"
                ));
            }
            if [load.duration_ms, load.memory_mb]
                .iter()
                .flatten()
                .any(|v| !(v.is_finite() && *v >= 0.0))
            {
                return bad(format!(
                    "{name}: duration_ms and memory_mb must be finite numbers >= 0"
                ));
            }
        }
        Ok(())
    }

    /// The schedule of this workload.
    pub fn schedule(&self) -> Schedule {
        let mut times = Vec::new();
        let per_function = self
            .functions
            .iter()
            .map(|load| {
                times.clear();
                let mut rng = function_rng(self.seed, &load.function);
                load.arrivals(self.duration_s, &mut rng, &mut times);
                (load.function.clone(), load.input.clone(), times.clone())
            })
            .collect::<Vec<_>>();
        let mut schedule = Schedule::from_times(per_function);
        let demands: Vec<Option<Demand>> = schedule
            .functions()
            .iter()
            .map(|name| {
                self.functions
                    .iter()
                    .find(|load| &load.function == name)
                    .and_then(FunctionLoad::demand)
            })
            .collect();
        for (function, demand) in schedule.demands_mut() {
            *demand = demands[function as usize];
        }
        schedule
    }
}

impl FunctionLoad {
    /// The demand of each of its invocations, when the spec gives one.
    fn demand(&self) -> Option<Demand> {
        if self.duration_ms.is_none() && self.memory_mb.is_none() && self.output_bytes.is_none() {
            return None;
        }
        Some(Demand {
            duration_us: (self.duration_ms.unwrap_or(0.0) * 1_000.0).round() as u64,
            memory_bytes: (self.memory_mb.unwrap_or(0.0) * 1024.0 * 1024.0).round() as u64,
            input_bytes: 0,
            output_bytes: self.output_bytes.unwrap_or(0),
        })
    }

    /// The rate at `t` seconds, windows taken into account.
    fn rate_at(&self, t: f64, duration: f64) -> f64 {
        if !self.is_active(t) {
            return 0.0;
        }
        match &self.rate {
            None => 0.0,
            Some(Rate::Constant(r)) => *r,
            Some(Rate::Ramp { from, to }) => from + (to - from) * (t / duration),
            Some(Rate::Steps(steps)) => steps
                .iter()
                .take_while(|[at, _]| *at <= t)
                .last()
                .map_or(0.0, |[_, r]| *r),
        }
    }

    fn is_active(&self, t: f64) -> bool {
        self.active
            .as_ref()
            .is_none_or(|windows| windows.iter().any(|[from, to]| (*from..*to).contains(&t)))
    }

    /// The highest rate anywhere (the thinning bound).
    fn peak_rate(&self) -> f64 {
        match &self.rate {
            None => 0.0,
            Some(Rate::Constant(r)) => *r,
            Some(Rate::Ramp { from, to }) => from.max(*to),
            Some(Rate::Steps(steps)) => steps.iter().map(|[_, r]| *r).fold(0.0, f64::max),
        }
    }

    /// Appends this function's send times in `[0, duration)`, sorted.
    fn arrivals(&self, duration: f64, rng: &mut ChaCha8Rng, out: &mut Vec<f64>) {
        let peak = self.peak_rate();
        if peak > 0.0 {
            match self.arrivals {
                Process::Poisson => {
                    // Thinning (Lewis and Shedler): candidates at the peak
                    // rate, each kept with probability rate(t) / peak.
                    let mut t = 0.0;
                    loop {
                        t += -(1.0 - rng.random::<f64>()).ln() / peak;
                        if t >= duration {
                            break;
                        }
                        if rng.random::<f64>() * peak < self.rate_at(t, duration) {
                            out.push(t);
                        }
                    }
                }
                Process::Regular => {
                    let mut integral = 0.0;
                    let mut next = 0.0;
                    let steps = (duration / STEP_S).ceil() as u64;
                    for step in 0..steps {
                        let t = step as f64 * STEP_S;
                        let rate = self.rate_at(t, duration);
                        let grown = integral + rate * STEP_S;
                        // The tolerance keeps a sum of many small steps
                        // from crossing an integer it only reached.
                        while next + 1e-9 < grown {
                            // Where within the step the integral reaches it.
                            let at = t + (next - integral) / rate;
                            out.push(at.min(duration));
                            next += 1.0;
                        }
                        integral = grown;
                    }
                }
            }
        }
        if let Some(bursts) = &self.bursts {
            let mut start = 0.0;
            while start < duration {
                if self.active.is_none() || self.is_active(start) {
                    for _ in 0..bursts.size {
                        let at = start + rng.random::<f64>() * bursts.spread_ms / 1e3;
                        if at < duration {
                            out.push(at);
                        }
                    }
                }
                start += bursts.every_s;
            }
        }
        out.sort_by(f64::total_cmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        let spec: Spec = serde_json::from_str(json).unwrap();
        spec.check().unwrap();
        spec
    }

    fn times_of(spec: &Spec) -> Vec<f64> {
        spec.schedule()
            .entries()
            .iter()
            .map(|e| e.at_ns as f64 / 1e9)
            .collect()
    }

    #[test]
    fn a_function_s_demand_goes_to_every_invocation_of_it_only() {
        let schedule = spec(
            r#"{"duration_s": 1, "functions": [
                {"function": "f", "rate": {"constant": 4}, "arrivals": "regular", "duration_ms": 2.5, "memory_mb": 1, "output_bytes": 9},
                {"function": "g", "rate": {"constant": 4}, "arrivals": "regular"}]}"#,
        )
        .schedule();
        let f = Demand {
            duration_us: 2_500,
            memory_bytes: 1 << 20,
            input_bytes: 0,
            output_bytes: 9,
        };
        for entry in schedule.entries() {
            let name = &schedule.functions()[entry.function as usize];
            let expected = (name == "f").then_some(f);
            assert_eq!(entry.demand, expected, "{name}");
        }
    }

    #[test]
    fn a_regular_constant_rate_is_evenly_spaced_from_the_start() {
        let times = times_of(&spec(
            r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": 4}, "arrivals": "regular"}]}"#,
        ));
        assert_eq!(times.len(), 4, "{times:?}");
        for (k, t) in times.iter().enumerate() {
            assert!((t - k as f64 * 0.25).abs() < 1e-6, "{times:?}");
        }
    }

    #[test]
    fn a_poisson_rate_gives_its_mean_count() {
        let times = times_of(&spec(
            r#"{"duration_s": 100, "functions": [{"function": "f", "rate": {"constant": 100}}]}"#,
        ));
        // Poisson(10000): sd 100, so 5% is 5 sd.
        assert!(
            (times.len() as f64 - 10_000.0).abs() < 500.0,
            "{}",
            times.len()
        );
    }

    #[test]
    fn a_ramp_sends_more_at_its_high_end() {
        let times = times_of(&spec(
            r#"{"duration_s": 100, "functions": [{"function": "f", "rate": {"ramp": {"from": 0, "to": 100}}, "arrivals": "regular"}]}"#,
        ));
        // The integral of the ramp: 0.5 * 100 * 100 = 5000.
        assert!((times.len() as i64 - 5000).abs() <= 1, "{}", times.len());
        let first_half = times.iter().filter(|&&t| t < 50.0).count();
        assert!((first_half as i64 - 1250).abs() <= 1, "{first_half}");
    }

    #[test]
    fn steps_and_windows_shape_the_rate() {
        let times = times_of(&spec(
            r#"{"duration_s": 30, "functions": [{"function": "f", "rate": {"steps": [[0, 1], [10, 10]]},
                "arrivals": "regular", "active": [[0, 5], [20, 30]]}]}"#,
        ));
        assert_eq!(times.iter().filter(|&&t| t < 10.0).count(), 5);
        assert_eq!(
            times.iter().filter(|&&t| (10.0..20.0).contains(&t)).count(),
            0
        );
        assert_eq!(times.iter().filter(|&&t| t >= 20.0).count(), 100);
    }

    #[test]
    fn bursts_send_their_size_within_their_spread() {
        let times = times_of(&spec(
            r#"{"duration_s": 30, "functions": [{"function": "f", "bursts": {"every_s": 10, "size": 50, "spread_ms": 5}}]}"#,
        ));
        assert_eq!(times.len(), 150);
        for t in times {
            assert!((t % 10.0) < 0.005, "{t}");
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_schedule() {
        let json = r#"{"duration_s": 10, "seed": 5, "functions": [{"function": "f", "rate": {"constant": 50}}, {"function": "g", "rate": {"constant": 20}}]}"#;
        assert_eq!(spec(json).schedule(), spec(json).schedule());
        let other = json.replace("\"seed\": 5", "\"seed\": 6");
        assert_ne!(spec(json).schedule(), spec(&other).schedule());
    }

    #[test]
    fn values_out_of_range_are_refused_with_the_function_named() {
        for (json, words) in [
            (
                r#"{"duration_s": 0, "functions": [{"function": "f", "rate": {"constant": 1}}]}"#,
                "duration_s",
            ),
            (
                r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": -1}}]}"#,
                "f: rate -1",
            ),
            (
                r#"{"duration_s": 1, "functions": [{"function": "f"}]}"#,
                "f: neither a rate nor bursts",
            ),
            (
                r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"steps": [[5, 1], [2, 1]]}}]}"#,
                "increasing",
            ),
            (
                r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": 1}, "active": [[3, 1]]}]}"#,
                "window",
            ),
            (
                r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": 1}, "duration_ms": -1}]}"#,
                "duration_ms",
            ),
        ] {
            let spec: Spec = serde_json::from_str(json).unwrap();
            let error = spec.check().unwrap_err().to_string();
            assert!(error.contains(words), "{json}: {error}");
        }
    }

    #[test]
    fn a_misspelt_field_is_a_json_error_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.json");
        std::fs::write(
            &path,
            r#"{"duration_s": 1, "functions": [{"function": "f", "rates": {"constant": 1}}]}"#,
        )
        .unwrap();
        let error = Spec::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("unknown field `rates`") && error.contains("line 1"),
            "{error}"
        );
    }
}
