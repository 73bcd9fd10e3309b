//! OTLP trace export (`faasrt serve --otlp-endpoint URL`): every journal
//! record (an invocation, or one stage of a pipeline run) becomes a span,
//! POSTed in batches to an OpenTelemetry receiver as OTLP/HTTP with
//! protobuf encoding.
//!
//! `endpoint` checks the URL at start-up, `spans` turns records into
//! spans (ids, the clock conversion, attributes), `exporter` is the
//! background task that follows the journal and sends, and `metrics` holds
//! its counters for `/metrics`. Without an endpoint none of it runs: no
//! task, no follower, so the journal copies nothing for it.

mod endpoint;
mod exporter;
mod metrics;
mod spans;

pub use endpoint::{OtlpEndpoint, OtlpEndpointError};
pub(crate) use exporter::Exporter;
pub(crate) use metrics::OtlpMetrics;
