//! The exporter's counters, added to `/metrics` after the runtime's when
//! `--otlp-endpoint` is given: spans exported, spans dropped and why,
//! failed export requests.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Why spans were not exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// The exporter fell behind the journal's live feed, which lost
    /// records rather than slow invocations down.
    FeedLag,
    /// Every attempt to send their batch failed.
    ExportFailed,
    /// The receiver took the batch but refused these spans (an OTLP
    /// partial success).
    Rejected,
}

impl DropReason {
    const ALL: [DropReason; 3] = [
        DropReason::FeedLag,
        DropReason::ExportFailed,
        DropReason::Rejected,
    ];

    fn label(self) -> &'static str {
        match self {
            DropReason::FeedLag => "feed_lag",
            DropReason::ExportFailed => "export_failed",
            DropReason::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// The counters and the registry that encodes them.
pub(crate) struct OtlpMetrics {
    registry: Registry,
    exported: Counter,
    dropped: Family<ReasonLabels, Counter>,
    errors: Counter,
}

impl OtlpMetrics {
    /// All counters at zero, every drop reason among them.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("faasrt_otlp");
        let exported = Counter::default();
        registry.register(
            "spans_exported",
            "Spans the OTLP receiver accepted",
            exported.clone(),
        );
        let dropped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "spans_dropped",
            "Spans not exported, by reason (feed_lag, export_failed, rejected)",
            dropped.clone(),
        );
        let errors = Counter::default();
        registry.register(
            "export_errors",
            "Export requests that failed (no connection, timeout, an error status), retries included",
            errors.clone(),
        );
        for reason in DropReason::ALL {
            let _ = dropped.get_or_create(&labels(reason));
        }
        OtlpMetrics {
            registry,
            exported,
            dropped,
            errors,
        }
    }

    /// Counts `spans` exported.
    pub(crate) fn exported(&self, spans: u64) {
        self.exported.inc_by(spans);
    }

    /// Counts `spans` dropped for `reason`.
    pub(crate) fn dropped(&self, reason: DropReason, spans: u64) {
        self.dropped.get_or_create(&labels(reason)).inc_by(spans);
    }

    /// Counts one failed export request.
    pub(crate) fn export_error(&self) {
        self.errors.inc();
    }

    /// Adds these metrics to `text`, the runtime's in the text format,
    /// before its closing `# EOF`.
    pub(crate) fn append_to(&self, text: &mut String) {
        const EOF: &str = "# EOF\n";
        if text.ends_with(EOF) {
            text.truncate(text.len() - EOF.len());
        }
        prometheus_client::encoding::text::encode_registry(text, &self.registry)
            .and_then(|()| prometheus_client::encoding::text::encode_eof(text))
            .expect("writing to a String cannot fail");
    }
}

fn labels(reason: DropReason) -> ReasonLabels {
    ReasonLabels {
        reason: reason.label().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_follow_the_runtimes_metrics_with_one_eof() {
        let metrics = OtlpMetrics::new();
        metrics.exported(5);
        metrics.dropped(DropReason::ExportFailed, 3);
        metrics.export_error();
        let mut text = "# HELP faasrt_functions x\nfaasrt_functions 1\n# EOF\n".to_owned();
        metrics.append_to(&mut text);
        assert!(
            text.starts_with("# HELP faasrt_functions x\nfaasrt_functions 1\n"),
            "{text}"
        );
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        for line in [
            "faasrt_otlp_spans_exported_total 5",
            "faasrt_otlp_spans_dropped_total{reason=\"export_failed\"} 3",
            "faasrt_otlp_spans_dropped_total{reason=\"feed_lag\"} 0",
            "faasrt_otlp_spans_dropped_total{reason=\"rejected\"} 0",
            "faasrt_otlp_export_errors_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }
}
