//! What each invocation asks of the function that stands in for a trace
//! function ([`Demand`]: how long it runs, how much memory it touches, how
//! many bytes go in and out), and where a trace gives only a distribution
//! of it, that distribution ([`Quantiles`]), sampled per invocation.
//!
//! The calibrated synthetic guest (`synthetic`, in the examples) turns a
//! demand into work on the machine the run happens on; see
//! [`crate::calibration`].

pub mod azure2019;

use rand::RngExt;

/// What one invocation asks for. Zero means nothing of that kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Demand {
    /// How long it runs, in microseconds.
    pub duration_us: u64,
    /// Memory it touches, in bytes.
    pub memory_bytes: u64,
    /// Bytes of request (the synthetic guest's parameter line, padded).
    pub input_bytes: u64,
    /// Bytes of answer.
    pub output_bytes: u64,
}

/// A distribution given by some of its quantiles, `(q, value)` with `q` in
/// `[0, 1]`, read between them linearly (the way trace papers draw their
/// CDFs). Below the first quantile it gives the first value, above the
/// last the last.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantiles {
    points: Vec<(f64, f64)>,
}

impl Quantiles {
    /// The distribution through `points`, sorted by `q`; values that go
    /// down as `q` goes up (rounding in a trace) are raised to the value
    /// before them. None for no point, or a `q` outside `[0, 1]` or a value
    /// that is not finite.
    pub fn new(points: impl IntoIterator<Item = (f64, f64)>) -> Option<Quantiles> {
        let mut points: Vec<(f64, f64)> = points.into_iter().collect();
        if points.is_empty()
            || points
                .iter()
                .any(|&(q, v)| !(0.0..=1.0).contains(&q) || !v.is_finite())
        {
            return None;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        for i in 1..points.len() {
            points[i].1 = points[i].1.max(points[i - 1].1);
        }
        Some(Quantiles { points })
    }

    /// From percentiles, `(p, value)` with `p` in 0..=100.
    pub fn from_percentiles(percentiles: &[(u8, f64)]) -> Option<Quantiles> {
        Quantiles::new(
            percentiles
                .iter()
                .map(|&(p, value)| (f64::from(p) / 100.0, value)),
        )
    }

    /// The value at quantile `u`.
    pub fn at(&self, u: f64) -> f64 {
        let points = &self.points;
        let after = points.partition_point(|&(q, _)| q < u);
        if after == 0 {
            return points[0].1;
        }
        if after == points.len() {
            return points[points.len() - 1].1;
        }
        let (q0, v0) = points[after - 1];
        let (q1, v1) = points[after];
        if q1 <= q0 {
            return v1;
        }
        v0 + (v1 - v0) * (u - q0) / (q1 - q0)
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl rand::Rng) -> f64 {
        self.at(rng.random::<f64>())
    }

    /// The median, quantile by quantile, of distributions that share their
    /// quantiles (a stand-in for a function a trace gives no figures for).
    /// None when `all` is empty or their quantiles differ.
    pub fn pointwise_median(all: &[&Quantiles]) -> Option<Quantiles> {
        let first = all.first()?;
        if all.iter().any(|d| {
            d.points.len() != first.points.len()
                || d.points.iter().zip(&first.points).any(|(a, b)| a.0 != b.0)
        }) {
            return None;
        }
        let mut column = Vec::with_capacity(all.len());
        Quantiles::new(first.points.iter().enumerate().map(|(i, &(q, _))| {
            column.clear();
            column.extend(all.iter().map(|d| d.points[i].1));
            column.sort_by(f64::total_cmp);
            (q, column[column.len() / 2])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn reads_between_the_quantiles_linearly_and_holds_at_the_ends() {
        let d = Quantiles::from_percentiles(&[(1, 10.0), (50, 20.0), (100, 120.0)]).unwrap();
        assert_eq!(d.at(0.0), 10.0);
        assert_eq!(d.at(0.01), 10.0);
        assert!((d.at(0.255) - 15.0).abs() < 1e-9);
        assert!((d.at(0.75) - 70.0).abs() < 1e-9);
        assert_eq!(d.at(1.0), 120.0);
    }

    #[test]
    fn values_going_down_are_raised() {
        let d = Quantiles::new([(0.0, 5.0), (0.5, 3.0), (1.0, 8.0)]).unwrap();
        assert_eq!(d.at(0.5), 5.0);
        assert!(Quantiles::new([(1.5, 1.0)]).is_none());
        assert!(Quantiles::new([(0.5, f64::NAN)]).is_none());
        assert!(Quantiles::new([]).is_none());
    }

    #[test]
    fn samples_follow_the_distribution() {
        let d = Quantiles::new([(0.0, 0.0), (1.0, 100.0)]).unwrap();
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        let draws: Vec<f64> = (0..10_000).map(|_| d.sample(&mut rng)).collect();
        let below_25 = draws.iter().filter(|&&v| v < 25.0).count();
        assert!((2_300..2_700).contains(&below_25), "{below_25}");
    }

    #[test]
    fn the_pointwise_median_takes_each_quantile_s_median() {
        let a = Quantiles::new([(0.0, 1.0), (1.0, 10.0)]).unwrap();
        let b = Quantiles::new([(0.0, 2.0), (1.0, 30.0)]).unwrap();
        let c = Quantiles::new([(0.0, 3.0), (1.0, 20.0)]).unwrap();
        let m = Quantiles::pointwise_median(&[&a, &b, &c]).unwrap();
        assert_eq!((m.at(0.0), m.at(1.0)), (2.0, 20.0));
        let other = Quantiles::new([(0.5, 1.0)]).unwrap();
        assert!(Quantiles::pointwise_median(&[&a, &other]).is_none());
    }
}
