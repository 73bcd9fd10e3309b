//! Latency samples and their summary (median, tail, max).

use hdrhistogram::Histogram;
use std::time::Duration;

/// Latency samples in microseconds, with 3 significant digits.
pub struct Samples {
    histogram: Histogram<u64>,
}

impl Samples {
    /// An empty set of samples (1 us .. 1 h).
    pub fn new() -> Self {
        Samples {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_nanos() / 1000).max(1) as u64;
        self.histogram.saturating_record(micros);
    }

    /// Adds another set of samples to this one.
    pub fn merge(&mut self, other: &Samples) {
        self.histogram.add(&other.histogram).expect("same bounds");
    }

    /// How many samples there are.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0..=1), in microseconds (fractional for
    /// sub-microsecond precision is not kept).
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64
    }

    /// The largest sample, in microseconds.
    pub fn max_us(&self) -> f64 {
        self.histogram.max() as f64
    }
}

impl Default for Samples {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_samples() {
        let mut samples = Samples::new();
        for micros in 1..=100 {
            samples.record(Duration::from_micros(micros));
        }
        assert_eq!(samples.len(), 100);
        assert_eq!(samples.quantile_us(0.5), 50.0);
        assert_eq!(samples.quantile_us(0.99), 99.0);
        assert_eq!(samples.max_us(), 100.0);
    }
}
