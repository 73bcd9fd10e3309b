//! Turning a trace's per-minute counts into arrival times: the law that
//! spreads a minute's invocations over it, drawn from a generator seeded
//! per function so that a schedule is the same for the same seed.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Seconds in a minute, the unit of the per-minute traces.
const MINUTE_S: f64 = 60.0;

/// How a minute's invocations are spread over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArrivalLaw {
    /// A Poisson process whose rate in each minute is that minute's count
    /// per 60 s: exponential gaps, so a minute gets the trace's count on
    /// average, not exactly (the schedule's summary says by how much).
    Poisson,
    /// Exactly the minute's count, each at a uniformly random time in it
    /// (a Poisson process conditioned on its count).
    Uniform,
    /// Exactly the minute's count, evenly spaced: `60 s / count` apart,
    /// the first at the minute's start.
    Equidistant,
}

/// The law and whether each function's arrivals are shifted by a random
/// phase of their own (so that functions with the same counts do not all
/// fire at the same instants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// The law within each minute.
    pub law: ArrivalLaw,
    /// Shift each function's arrivals by a phase drawn once for it, in
    /// `[0, 60 s)`, wrapping within each minute.
    pub shift: bool,
}

/// The generator of function `id`'s arrivals under `seed`: the same
/// stream for the same pair, on every platform, independent of the order
/// in which functions are generated.
pub fn function_rng(seed: u64, id: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), seed))
}

/// Appends the arrivals of one function, in seconds from the start of the
/// first minute of `per_minute`, in increasing order.
pub fn function_arrivals(
    per_minute: &[u32],
    spread: Spread,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<f64>,
) {
    let phase = if spread.shift {
        rng.random::<f64>() * MINUTE_S
    } else {
        0.0
    };
    let mut minute_times = Vec::new();
    for (minute, &count) in per_minute.iter().enumerate() {
        minute_times.clear();
        minute_arrivals(spread.law, count, rng, &mut minute_times);
        if phase > 0.0 {
            for t in &mut minute_times {
                *t = (*t + phase) % MINUTE_S;
            }
            minute_times.sort_by(f64::total_cmp);
        }
        let base = minute as f64 * MINUTE_S;
        out.extend(minute_times.iter().map(|t| base + t));
    }
}

/// The arrival times, in `[0, 60)` seconds and in increasing order, of one
/// minute with `count` invocations in the trace.
fn minute_arrivals(law: ArrivalLaw, count: u32, rng: &mut ChaCha8Rng, out: &mut Vec<f64>) {
    if count == 0 {
        return;
    }
    match law {
        ArrivalLaw::Poisson => {
            // Exponential gaps at this minute's rate; the process is
            // memoryless, so starting afresh at each minute is exact.
            let rate = f64::from(count) / MINUTE_S;
            let mut t = 0.0;
            loop {
                t += -(1.0 - rng.random::<f64>()).ln() / rate;
                if t >= MINUTE_S {
                    break;
                }
                out.push(t);
            }
        }
        ArrivalLaw::Uniform => {
            out.extend((0..count).map(|_| rng.random::<f64>() * MINUTE_S));
            out.sort_by(f64::total_cmp);
        }
        ArrivalLaw::Equidistant => {
            let gap = MINUTE_S / f64::from(count);
            out.extend((0..count).map(|i| f64::from(i) * gap));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(per_minute: &[u32], law: ArrivalLaw, shift: bool, seed: u64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut rng = function_rng(seed, "f");
        function_arrivals(per_minute, Spread { law, shift }, &mut rng, &mut out);
        out
    }

    fn per_minute_counts(times: &[f64], minutes: usize) -> Vec<u32> {
        let mut counts = vec![0; minutes];
        for t in times {
            counts[(t / MINUTE_S) as usize] += 1;
        }
        counts
    }

    #[test]
    fn uniform_and_equidistant_keep_each_minutes_count_exactly() {
        let trace = [3, 0, 7, 1, 0, 120];
        for law in [ArrivalLaw::Uniform, ArrivalLaw::Equidistant] {
            for shift in [false, true] {
                let times = arrivals(&trace, law, shift, 9);
                assert_eq!(
                    per_minute_counts(&times, trace.len()),
                    trace,
                    "{law:?} shift={shift}"
                );
                assert!(times.is_sorted(), "{law:?} shift={shift}");
            }
        }
    }

    #[test]
    fn equidistant_spaces_a_minute_evenly() {
        let times = arrivals(&[4], ArrivalLaw::Equidistant, false, 1);
        assert_eq!(times, vec![0.0, 15.0, 30.0, 45.0]);
    }

    #[test]
    fn poisson_matches_the_trace_rate_on_average() {
        let trace = vec![100u32; 200];
        let times = arrivals(&trace, ArrivalLaw::Poisson, false, 4);
        let expected = 100.0 * 200.0;
        let issued = times.len() as f64;
        // Poisson(20000): the standard deviation is ~141, so 5% is ~7 sigma.
        assert!(
            (issued - expected).abs() < expected * 0.05,
            "{issued} arrivals for {expected}"
        );
        assert!(times.is_sorted());
        assert!(
            per_minute_counts(&times, trace.len())
                .iter()
                .any(|&c| c != 100),
            "counts vary per minute"
        );
    }

    #[test]
    fn the_same_seed_and_function_give_the_same_arrivals() {
        let trace = [5, 9, 2];
        assert_eq!(
            arrivals(&trace, ArrivalLaw::Poisson, true, 77),
            arrivals(&trace, ArrivalLaw::Poisson, true, 77)
        );
        assert_ne!(
            arrivals(&trace, ArrivalLaw::Poisson, true, 77),
            arrivals(&trace, ArrivalLaw::Poisson, true, 78)
        );
    }

    #[test]
    fn a_shift_moves_an_equidistant_comb_off_the_minute_start() {
        let times = arrivals(&[2, 2], ArrivalLaw::Equidistant, true, 3);
        assert_eq!(times.len(), 4);
        assert!(
            times.iter().all(|t| t.fract() != 0.0 || *t % 30.0 != 0.0),
            "{times:?}"
        );
    }
}
