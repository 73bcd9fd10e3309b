//! What the injector saw of each invocation, from one monotonic clock: when
//! it was meant to be sent, when it was, when its answer was complete, and
//! how it ended. Latency is counted from the scheduled time, so a target
//! that falls behind cannot hide it by slowing the sender.

use crate::trace_ids::TraceIds;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// One invocation as the injector saw it. Times are nanoseconds from the
/// run's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Its index in the schedule.
    pub index: u64,
    /// The trace function it replays.
    pub trace_function: Arc<str>,
    /// The W3C trace it was sent with (`traceparent`), whose id the
    /// server's journal keeps: the key to join the two
    /// ([`Record::trace_id`]).
    pub trace: TraceIds,
    /// The deployed function it invoked.
    pub function: Arc<str>,
    /// When the schedule said to send it.
    pub scheduled_ns: u64,
    /// When it was sent.
    pub sent_ns: u64,
    /// When its whole answer had arrived (or the request failed).
    pub done_ns: u64,
    /// The HTTP status, or 0 when there was no answer.
    pub status: u16,
    /// Bytes of input sent.
    pub request_bytes: u64,
    /// Bytes of answer received.
    pub response_bytes: u64,
    /// Why there was no answer, or the error the server gave.
    pub error: Option<String>,
}

impl Record {
    /// The W3C trace id it was sent with: 32 hex digits.
    pub fn trace_id(&self) -> String {
        self.trace.trace_id()
    }

    /// From the scheduled send time to the complete answer.
    pub fn latency_ns(&self) -> u64 {
        self.done_ns.saturating_sub(self.scheduled_ns)
    }

    /// How late it was sent.
    pub fn send_lag_ns(&self) -> u64 {
        self.sent_ns.saturating_sub(self.scheduled_ns)
    }

    /// Whether the function answered 2xx.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Median, tail and count of a set of durations.
#[derive(Clone, Debug, PartialEq)]
pub struct Percentiles {
    /// How many.
    pub count: u64,
    /// Median, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Largest, microseconds.
    pub max_us: f64,
}

impl Percentiles {
    /// Of `values` (nanoseconds), with HdrHistogram at 3 significant digits.
    pub fn of(values: impl Iterator<Item = u64>) -> Percentiles {
        // 1 ns to 1 hour at 3 significant digits; longer values count as
        // an hour.
        let mut histogram =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("valid bounds and precision");
        for value in values {
            histogram.saturating_record(value.max(1));
        }
        let us = |ns: u64| ns as f64 / 1e3;
        Percentiles {
            count: histogram.len(),
            p50_us: us(histogram.value_at_quantile(0.5)),
            p99_us: us(histogram.value_at_quantile(0.99)),
            max_us: us(histogram.max()),
        }
    }
}

/// Writes the distribution of `values` (nanoseconds) in HdrHistogram's
/// percentile-distribution text format (`.hgrm`, values in microseconds),
/// which HdrHistogram's plotters read.
///
/// # Errors
/// The file cannot be written.
pub fn write_hgrm(values: impl Iterator<Item = u64>, path: &Path) -> std::io::Result<()> {
    let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)
        .expect("valid bounds and precision");
    for value in values {
        histogram.saturating_record(value.max(1));
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total = 0u64;
    if !histogram.is_empty() {
        for step in histogram.iter_quantiles(1) {
            total += step.count_since_last_iteration();
            let quantile = step.quantile_iterated_to();
            let inverse = if quantile < 1.0 {
                1.0 / (1.0 - quantile)
            } else {
                f64::INFINITY
            };
            writeln!(
                out,
                "{:>12.3} {:>14.12} {:>10} {:>14.2}",
                step.value_iterated_to() as f64 / 1e3,
                quantile,
                total,
                inverse
            )?;
        }
    }
    writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        histogram.mean() / 1e3,
        histogram.stdev() / 1e3
    )?;
    writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        histogram.max() as f64 / 1e3,
        histogram.len()
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hgrm_file_ends_at_every_value_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latency.hgrm");
        write_hgrm((1..=100u64).map(|i| i * 10_000), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .collect();
        let last: Vec<&str> = rows.last().unwrap().split_whitespace().collect();
        assert_eq!(last[2], "100", "{text}");
        assert!(
            (last[0].parse::<f64>().unwrap() - 1000.0).abs() < 1.0,
            "{text}"
        );
        assert!(text.contains("Total count    =          100"), "{text}");
    }

    #[test]
    fn percentiles_are_read_in_microseconds() {
        let values = (1..=1000u64).map(|i| i * 1_000);
        let p = Percentiles::of(values);
        assert_eq!(p.count, 1000);
        assert!((p.p50_us - 500.0).abs() <= 1.0, "{p:?}");
        assert!((p.p99_us - 990.0).abs() <= 1.0, "{p:?}");
        assert!((p.max_us - 1000.0).abs() <= 1.0, "{p:?}");
    }
}
