//! Latency samples and their summary (median, tail, max).

use hdrhistogram::Histogram;
use std::time::Duration;

/// Latency samples, kept in nanoseconds with 3 significant digits (a pipe
/// hop takes well under a microsecond), reported in microseconds.
pub struct Samples {
    histogram: Histogram<u64>,
}

impl Samples {
    /// An empty set of samples (1 ns .. 1 h).
    pub fn new() -> Self {
        Samples {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
        }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let nanos = (latency.as_nanos() as u64).max(1);
        self.histogram.saturating_record(nanos);
    }

    /// Adds another set of samples to this one.
    pub fn merge(&mut self, other: &Samples) {
        self.histogram.add(&other.histogram).expect("same bounds");
    }

    /// How many samples there are.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0..=1), in microseconds.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest sample, in microseconds.
    pub fn max_us(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
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
        // Three significant digits: within 0.1%.
        assert!((samples.quantile_us(0.5) - 50.0).abs() < 0.05);
        assert!((samples.quantile_us(0.99) - 99.0).abs() < 0.1);
        assert!((samples.max_us() - 100.0).abs() < 0.1);
    }

    #[test]
    fn sub_microsecond_latencies_are_kept() {
        let mut samples = Samples::new();
        samples.record(Duration::from_nanos(400));
        assert!((samples.quantile_us(0.5) - 0.4).abs() < 0.001);
    }
}
