//! Demands for an Azure Functions 2019 schedule, from the same day's
//! `function_durations_percentiles` (per function, in ms) and
//! `app_memory_percentiles` (per application, in MB): every invocation of
//! a function draws its duration from its function's percentiles and its
//! memory from its application's, each function from its own generator
//! (seeded like its arrivals, on a stream of its own).
//!
//! The trace leaves out some functions' durations and some applications'
//! memory; those draw from the pointwise median of the file's
//! distributions, and [`Assigned`] counts them.

use super::{Demand, Quantiles};
use crate::arrival::function_rng;
use crate::schedule::Schedule;
use crate::trace::azure2019::{AppMemory, DurationPercentiles};
use std::collections::HashMap;

/// Bytes in the trace's MB (the counters Azure reports are binary).
const MB: f64 = 1024.0 * 1024.0;

/// Keeps the demand draws apart from the arrival draws of the same seed.
const DEMAND_STREAM: u64 = 0xD3AA_2019_0000_0001;

/// How many of a schedule's functions found their own figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Assigned {
    /// Functions in the schedule.
    pub functions: usize,
    /// Of them, with their own durations.
    pub own_durations: usize,
    /// With their application's memory.
    pub own_memory: usize,
}

/// Draws a demand for every invocation of `schedule` (an Azure 2019 one,
/// whose function ids are `owner/app/function`). With no durations (or no
/// memory) at all, that part of every demand is 0.
pub fn assign(
    schedule: &mut Schedule,
    durations: &[DurationPercentiles],
    memory: &[AppMemory],
    seed: u64,
) -> Assigned {
    let durations: HashMap<String, Quantiles> = durations
        .iter()
        .filter_map(|row| {
            Quantiles::from_percentiles(&row.percentiles).map(|q| (row.function.id(), q))
        })
        .collect();
    let memory: HashMap<String, Quantiles> = memory
        .iter()
        .filter_map(|row| {
            Quantiles::from_percentiles(&row.percentiles)
                .map(|q| (format!("{}/{}", row.owner, row.app), q))
        })
        .collect();
    let fallback_duration = Quantiles::pointwise_median(&durations.values().collect::<Vec<_>>());
    let fallback_memory = Quantiles::pointwise_median(&memory.values().collect::<Vec<_>>());
    let mut assigned = Assigned {
        functions: schedule.functions().len(),
        ..Assigned::default()
    };
    // Per function: its two distributions and its generator.
    let per_function: Vec<_> = schedule
        .functions()
        .iter()
        .map(|id| {
            let app = id.rsplit_once('/').map_or(id.as_str(), |(app, _)| app);
            let duration = durations.get(id.as_str());
            let mem = memory.get(app);
            assigned.own_durations += usize::from(duration.is_some());
            assigned.own_memory += usize::from(mem.is_some());
            (
                duration.or(fallback_duration.as_ref()).cloned(),
                mem.or(fallback_memory.as_ref()).cloned(),
                function_rng(seed ^ DEMAND_STREAM, id),
            )
        })
        .collect();
    let mut per_function = per_function;
    for (function, demand) in schedule.demands_mut() {
        let (duration, mem, rng) = &mut per_function[function as usize];
        let duration_ms = duration.as_ref().map_or(0.0, |d| d.sample(rng));
        let memory_mb = mem.as_ref().map_or(0.0, |m| m.sample(rng));
        *demand = Some(Demand {
            duration_us: (duration_ms * 1_000.0).round() as u64,
            memory_bytes: (memory_mb * MB).round() as u64,
            ..Demand::default()
        });
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceFunction;

    fn function(app: &str, name: &str) -> TraceFunction {
        TraceFunction {
            owner: "o".into(),
            app: app.into(),
            function: name.into(),
        }
    }

    fn durations(name: &str, ms: [f64; 7]) -> DurationPercentiles {
        DurationPercentiles {
            function: function("a", name),
            average_ms: ms[3],
            count: 100,
            minimum_ms: ms[0],
            maximum_ms: ms[6],
            percentiles: [0, 1, 25, 50, 75, 99, 100].into_iter().zip(ms).collect(),
        }
    }

    fn schedule() -> Schedule {
        Schedule::from_times(vec![
            (
                "o/a/f".into(),
                None,
                (0..200).map(|i| i as f64 * 0.01).collect(),
            ),
            ("o/b/g".into(), None, vec![0.5, 1.5]),
        ])
    }

    #[test]
    fn draws_within_the_function_s_percentiles_and_fills_the_missing_from_the_median() {
        let mut s = schedule();
        let memory = vec![AppMemory {
            owner: "o".into(),
            app: "a".into(),
            sample_count: 10,
            average_mb: 100.0,
            percentiles: [1, 5, 25, 50, 75, 95, 99, 100]
                .into_iter()
                .map(|p| (p, 100.0))
                .collect(),
        }];
        let assigned = assign(
            &mut s,
            &[durations("f", [10.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0])],
            &memory,
            1,
        );
        assert_eq!(
            assigned,
            Assigned {
                functions: 2,
                own_durations: 1,
                own_memory: 1
            }
        );
        for entry in s.entries() {
            let demand = entry.demand.expect("every invocation has a demand");
            assert!(
                (10_000..=60_000).contains(&demand.duration_us),
                "{demand:?}"
            );
            // Both apps: the only memory figures there are (b's from the median).
            assert_eq!(demand.memory_bytes, 100 * 1024 * 1024);
        }
        let f: Vec<u64> = s
            .entries()
            .iter()
            .filter(|e| e.function == 0)
            .map(|e| e.demand.unwrap().duration_us)
            .collect();
        let median = {
            let mut sorted = f.clone();
            sorted.sort_unstable();
            sorted[sorted.len() / 2]
        };
        assert!((25_000..=35_000).contains(&median), "{median}");
    }

    #[test]
    fn the_same_seed_draws_the_same_demands() {
        let rows = [durations("f", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])];
        let (mut a, mut b, mut c) = (schedule(), schedule(), schedule());
        assign(&mut a, &rows, &[], 1);
        assign(&mut b, &rows, &[], 1);
        assign(&mut c, &rows, &[], 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn no_figures_at_all_give_zero_demands() {
        let mut s = schedule();
        assign(&mut s, &[], &[], 1);
        assert!(
            s.entries()
                .iter()
                .all(|e| e.demand == Some(Demand::default()))
        );
    }
}
