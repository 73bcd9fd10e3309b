//! Trace down-scaling: an Azure Functions 2019 window cut to a target rate
//! that a small machine can replay, and a report of how representative the
//! sample stays ([`Representativeness`]).
//!
//! Two methods. [`Method::SampleFunctions`] (the default, after the
//! sampling of InVitro and of "Serverless in the Wild"'s own analysis)
//! keeps whole functions, each with its exact per-minute counts: the
//! functions are put in strata by popularity (decades of invocations in the
//! window), and each stratum keeps, in a seeded random order, functions
//! until it holds its share of the target, so popular, middling and rare
//! functions stay in the proportions of the trace. A function larger than
//! what is left of its stratum's share is thinned to fit (counted in the
//! report). [`Method::Thin`] keeps every function and thins each one's
//! counts by the same factor (randomized rounding): the time shape of
//! every function stays, but rare functions vanish.

use crate::arrival::function_rng;
use crate::trace::azure2019::MinuteCounts;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;

/// How a trace is cut to its target rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Keep whole functions, sampled per popularity stratum.
    SampleFunctions,
    /// Keep every function, each one's counts thinned.
    Thin,
}

/// What to cut a trace to.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Invocations per second, over the whole window.
    pub per_s: f64,
    /// How.
    pub method: Method,
    /// The seed of the sampling (and of the thinning's rounding).
    pub seed: u64,
}

/// A down-scaled window and how it compares with the original.
#[derive(Debug)]
pub struct Downscaled {
    /// The kept functions, their counts cut to the window.
    pub rows: Vec<MinuteCounts>,
    /// The comparison.
    pub report: Representativeness,
}

/// How representative a down-scaled window is of the original one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Representativeness {
    /// The method used (`none` when the trace was already at or below the
    /// target).
    pub method: String,
    /// The target rate, invocations/s.
    pub target_per_s: f64,
    /// The window, in minutes.
    pub minutes: usize,
    /// Functions with invocations in the window: original, kept.
    pub functions: (usize, usize),
    /// Invocations/s: original, kept.
    pub per_s: (f64, f64),
    /// Functions thinned to fit their stratum (sampling) or all of them
    /// (thinning).
    pub thinned_functions: usize,
    /// Quantiles (p10, p50, p90, p99) of the functions' mean invocations
    /// per minute: original.
    pub function_rate_quantiles: [f64; 4],
    /// The same, of the kept functions, divided by the kept share of
    /// invocations for [`Method::Thin`] (so that equal shapes compare equal).
    pub kept_function_rate_quantiles: [f64; 4],
    /// The Kolmogorov-Smirnov distance between the two distributions of
    /// per-function rates (0: the same; 1: disjoint).
    pub function_rate_ks: f64,
    /// Share of invocations by trigger: original.
    pub trigger_share: BTreeMap<String, f64>,
    /// The same, kept.
    pub kept_trigger_share: BTreeMap<String, f64>,
    /// The largest difference between the two, in share points.
    pub trigger_share_max_diff: f64,
    /// Pearson correlation of the per-minute totals, original against
    /// kept (1: the same time shape).
    pub per_minute_correlation: f64,
    /// Coefficient of variation of the per-minute totals: original, kept
    /// (burstiness).
    pub per_minute_cv: (f64, f64),
}

/// Cuts `rows`' `window` of minutes to `target`.
pub fn downscale(rows: &[MinuteCounts], window: Range<usize>, target: Target) -> Downscaled {
    let original: Vec<MinuteCounts> = rows
        .iter()
        .filter_map(|row| {
            let end = window.end.min(row.per_minute.len());
            let counts = row.per_minute[window.start.min(end)..end].to_vec();
            counts.iter().any(|&c| c > 0).then(|| MinuteCounts {
                function: row.function.clone(),
                trigger: row.trigger.clone(),
                per_minute: counts,
            })
        })
        .collect();
    let minutes = original
        .iter()
        .map(|r| r.per_minute.len())
        .max()
        .unwrap_or(0);
    let total: u64 = original.iter().map(total_of).sum();
    let seconds = (minutes * 60).max(1) as f64;
    let wanted = (target.per_s * seconds).round() as u64;
    let (kept, method, thinned) = if total <= wanted {
        (original.clone(), "none", 0)
    } else {
        match target.method {
            Method::SampleFunctions => {
                let (kept, thinned) = sample_functions(&original, wanted, target.seed);
                (kept, "sample-functions", thinned)
            }
            Method::Thin => {
                let factor = wanted as f64 / total as f64;
                let kept = thin_all(&original, factor, target.seed);
                let thinned = original.len();
                (kept, "thin", thinned)
            }
        }
    };
    let report = compare(&original, &kept, method, target, minutes, thinned);
    Downscaled { rows: kept, report }
}

fn total_of(row: &MinuteCounts) -> u64 {
    row.per_minute.iter().map(|&c| u64::from(c)).sum()
}

/// The popularity stratum of a function with `total` invocations: its
/// decade.
fn stratum(total: u64) -> u32 {
    total.max(1).ilog10()
}

/// Keeps functions per stratum, in a seeded order, until each stratum holds
/// its share of `wanted`; returns them (in the original order) and how many
/// had to be thinned to fit.
fn sample_functions(rows: &[MinuteCounts], wanted: u64, seed: u64) -> (Vec<MinuteCounts>, usize) {
    let total: u64 = rows.iter().map(total_of).sum();
    let mut strata: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        strata
            .entry(stratum(total_of(row)))
            .or_default()
            .push(index);
    }
    let mut order_rng = function_rng(seed, "downscale/order");
    let mut kept: Vec<(usize, MinuteCounts)> = Vec::new();
    let mut thinned = 0;
    for members in strata.values_mut() {
        let stratum_total: u64 = members.iter().map(|&i| total_of(&rows[i])).sum();
        // This stratum's share of the target.
        let budget = (wanted as f64 * stratum_total as f64 / total as f64).round() as u64;
        members.shuffle(&mut order_rng);
        let mut taken = 0u64;
        for &index in members.iter() {
            if taken >= budget {
                break;
            }
            let row = &rows[index];
            let size = total_of(row);
            if taken + size <= budget {
                taken += size;
                kept.push((index, row.clone()));
            } else {
                // Larger than what is left: thinned to fit.
                let factor = (budget - taken) as f64 / size as f64;
                let mut rng = function_rng(seed, &row.function.id());
                let thin = thin_row(row, factor, &mut rng);
                taken += total_of(&thin);
                thinned += 1;
                if total_of(&thin) > 0 {
                    kept.push((index, thin));
                }
            }
        }
    }
    kept.sort_by_key(|(index, _)| *index);
    (kept.into_iter().map(|(_, row)| row).collect(), thinned)
}

fn thin_all(rows: &[MinuteCounts], factor: f64, seed: u64) -> Vec<MinuteCounts> {
    rows.iter()
        .map(|row| thin_row(row, factor, &mut function_rng(seed, &row.function.id())))
        .filter(|row| total_of(row) > 0)
        .collect()
}

/// `row` with each minute's count times `factor`, rounded up or down at
/// random so that the expected count is exact.
fn thin_row(row: &MinuteCounts, factor: f64, rng: &mut rand::rngs::ChaCha8Rng) -> MinuteCounts {
    MinuteCounts {
        function: row.function.clone(),
        trigger: row.trigger.clone(),
        per_minute: row
            .per_minute
            .iter()
            .map(|&count| {
                let exact = f64::from(count) * factor;
                let whole = exact.floor();
                let up = rng.random::<f64>() < exact - whole;
                whole as u32 + u32::from(up)
            })
            .collect(),
    }
}

fn compare(
    original: &[MinuteCounts],
    kept: &[MinuteCounts],
    method: &str,
    target: Target,
    minutes: usize,
    thinned: usize,
) -> Representativeness {
    let seconds = (minutes * 60).max(1) as f64;
    let total = |rows: &[MinuteCounts]| rows.iter().map(total_of).sum::<u64>() as f64;
    let (all, some) = (total(original), total(kept));
    let share = if all > 0.0 { some / all } else { 1.0 };
    let rates = |rows: &[MinuteCounts], scale: f64| -> Vec<f64> {
        let mut rates: Vec<f64> = rows
            .iter()
            .map(|r| total_of(r) as f64 / minutes.max(1) as f64 / scale)
            .collect();
        rates.sort_by(f64::total_cmp);
        rates
    };
    let original_rates = rates(original, 1.0);
    let kept_rates = rates(kept, if method == "thin" { share } else { 1.0 });
    let triggers = |rows: &[MinuteCounts]| {
        let mut share: BTreeMap<String, f64> = BTreeMap::new();
        let all = total(rows).max(1.0);
        for row in rows {
            *share.entry(row.trigger.clone()).or_default() += total_of(row) as f64 / all;
        }
        share
    };
    let (trigger_share, kept_trigger_share) = (triggers(original), triggers(kept));
    let trigger_share_max_diff = trigger_share
        .keys()
        .chain(kept_trigger_share.keys())
        .map(|t| {
            (trigger_share.get(t).copied().unwrap_or(0.0)
                - kept_trigger_share.get(t).copied().unwrap_or(0.0))
            .abs()
        })
        .fold(0.0, f64::max);
    let per_minute = |rows: &[MinuteCounts]| -> Vec<f64> {
        (0..minutes)
            .map(|m| {
                rows.iter()
                    .map(|r| f64::from(r.per_minute.get(m).copied().unwrap_or(0)))
                    .sum()
            })
            .collect()
    };
    let (minute_all, minute_kept) = (per_minute(original), per_minute(kept));
    Representativeness {
        method: method.to_owned(),
        target_per_s: target.per_s,
        minutes,
        functions: (original.len(), kept.len()),
        per_s: (all / seconds, some / seconds),
        thinned_functions: thinned,
        function_rate_quantiles: quantiles(&original_rates),
        kept_function_rate_quantiles: quantiles(&kept_rates),
        function_rate_ks: ks_distance(&original_rates, &kept_rates),
        trigger_share,
        kept_trigger_share,
        trigger_share_max_diff,
        per_minute_correlation: correlation(&minute_all, &minute_kept),
        per_minute_cv: (cv(&minute_all), cv(&minute_kept)),
    }
}

/// p10, p50, p90, p99 of `sorted`.
fn quantiles(sorted: &[f64]) -> [f64; 4] {
    [0.10, 0.50, 0.90, 0.99].map(|q| {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    })
}

/// The largest gap between the empirical distribution functions of two
/// sorted samples.
fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 0.0 } else { 1.0 };
    }
    let (mut i, mut j, mut distance) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let gap = (i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs();
        distance = distance.max(gap);
    }
    distance
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn cv(values: &[f64]) -> f64 {
    let m = mean(values);
    if m == 0.0 {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len().max(1) as f64;
    variance.sqrt() / m
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        return if va == vb { 1.0 } else { 0.0 };
    }
    cov / (va.sqrt() * vb.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceFunction;

    /// A heavy-tailed population: function `i` has about 2000 / (i + 1)
    /// invocations a minute (Zipf), a daily-ish shape, triggers in turn.
    fn population(functions: usize, minutes: usize) -> Vec<MinuteCounts> {
        (0..functions)
            .map(|i| MinuteCounts {
                function: TraceFunction {
                    owner: "o".into(),
                    app: format!("a{}", i % 17),
                    function: format!("f{i}"),
                },
                trigger: ["http", "timer", "queue", "event"][i % 4].into(),
                per_minute: (0..minutes)
                    .map(|m| {
                        let shape =
                            1.0 + 0.5 * (m as f64 / minutes as f64 * std::f64::consts::TAU).sin();
                        (2000.0 / (i + 1) as f64 * shape) as u32
                    })
                    .collect(),
            })
            .collect()
    }

    fn target(per_s: f64, method: Method) -> Target {
        Target {
            per_s,
            method,
            seed: 9,
        }
    }

    #[test]
    fn sampling_hits_the_target_and_keeps_the_shape_of_the_trace() {
        let rows = population(2_000, 60);
        let cut = downscale(&rows, 0..60, target(20.0, Method::SampleFunctions));
        let report = &cut.report;
        assert_eq!(report.method, "sample-functions");
        assert!(report.per_s.0 > 200.0, "{report:?}");
        assert!((report.per_s.1 - 20.0).abs() < 2.0, "{report:?}");
        assert!(report.functions.1 < report.functions.0, "{report:?}");
        // Whole functions, exact counts: most kept rows equal an original.
        let exact = cut
            .rows
            .iter()
            .filter(|kept| rows.iter().any(|r| r.per_minute == kept.per_minute))
            .count();
        assert!(
            exact + report.thinned_functions >= cut.rows.len(),
            "{report:?}"
        );
        assert!(report.function_rate_ks < 0.3, "{report:?}");
        assert!(report.per_minute_correlation > 0.95, "{report:?}");
        assert!(report.trigger_share_max_diff < 0.25, "{report:?}");
    }

    #[test]
    fn thinning_keeps_every_common_function_and_its_time_shape() {
        let rows = population(200, 60);
        let cut = downscale(&rows, 0..60, target(20.0, Method::Thin));
        let report = &cut.report;
        assert_eq!(report.method, "thin");
        assert!((report.per_s.1 - 20.0).abs() < 2.0, "{report:?}");
        assert!(report.per_minute_correlation > 0.95, "{report:?}");
        // The most popular function is still there, scaled.
        let top = &cut.rows[0];
        assert_eq!(top.function.function, "f0");
        let factor = report.per_s.1 / report.per_s.0;
        let expected = total_of(&rows[0]) as f64 * factor;
        assert!((total_of(top) as f64 - expected).abs() < expected * 0.1 + 5.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_sample_and_another_seed_another() {
        let rows = population(500, 30);
        let one = downscale(&rows, 0..30, target(10.0, Method::SampleFunctions));
        let again = downscale(&rows, 0..30, target(10.0, Method::SampleFunctions));
        assert_eq!(one.rows, again.rows);
        let other = downscale(
            &rows,
            0..30,
            Target {
                seed: 10,
                ..target(10.0, Method::SampleFunctions)
            },
        );
        assert_ne!(one.rows, other.rows);
    }

    #[test]
    fn a_trace_under_its_target_is_kept_whole() {
        let rows = population(5, 10);
        let cut = downscale(&rows, 2..8, target(1e9, Method::SampleFunctions));
        assert_eq!(cut.report.method, "none");
        assert_eq!(cut.rows.len(), 5);
        assert_eq!(cut.rows[0].per_minute.len(), 6, "cut to the window");
        assert_eq!(cut.report.function_rate_ks, 0.0);
        assert!((cut.report.per_minute_correlation - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_ks_distance_is_zero_for_equal_samples_and_one_for_disjoint() {
        assert_eq!(ks_distance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_distance(&[1.0, 2.0], &[5.0, 6.0]), 1.0);
        let half = ks_distance(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0]);
        assert!((half - 0.5).abs() < 1e-9, "{half}");
    }
}
