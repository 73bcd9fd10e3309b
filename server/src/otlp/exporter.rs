//! The export task: it follows the journal's live feed, turns each record
//! into a span, and POSTs batches of them to the receiver.
//!
//! It can never slow an invocation: it reads the feed as any follower
//! does, and while it is busy sending (or waiting to retry) the feed holds
//! what arrives; past the feed's capacity the oldest records are lost and
//! counted as dropped (`feed_lag`). A batch is sent when it has
//! [`MAX_BATCH_SPANS`] spans or [`MAX_BATCH_DELAY`] after its first span,
//! whichever comes first. A failed request is retried (connection errors,
//! timeouts, and the statuses OTLP calls retryable: 429, 502, 503, 504) up
//! to [`ATTEMPTS`] times in all with doubling backoff; then the batch is
//! dropped (`export_failed`). Failures are logged at most once every
//! [`LOG_EVERY`], with how many were not.

use super::endpoint::OtlpEndpoint;
use super::metrics::{DropReason, OtlpMetrics};
use super::spans::{self, SpanFields, SpanMaker, WallClock};
use bytes::Bytes;
use faasrt_runtime::{JournalFeed, Runtime};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Most spans in one export request.
pub(crate) const MAX_BATCH_SPANS: usize = 512;
/// Longest a span waits in a batch that is not full.
pub(crate) const MAX_BATCH_DELAY: Duration = Duration::from_millis(200);
/// Tries per batch, the first included.
pub(crate) const ATTEMPTS: u32 = 3;
/// The wait before the first retry; it doubles for each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one failure message per this long.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

const PROTOBUF: &str = "application/x-protobuf";

/// Exports the journal's records as spans; see the module comment.
pub(crate) struct Exporter {
    endpoint: OtlpEndpoint,
    feed: JournalFeed,
    lost: u64,
    spans: SpanMaker,
    resource: Resource,
    client: Client<HttpConnector, Full<Bytes>>,
    metrics: Arc<OtlpMetrics>,
    failures: FailureLog,
}

impl Exporter {
    /// An exporter of `runtime`'s invocations to `endpoint`, following the
    /// journal from now on (records made before [`Exporter::run`] starts
    /// wait in the feed). Its clock offset is measured here.
    pub(crate) fn follow(runtime: &Runtime, endpoint: OtlpEndpoint) -> Self {
        let feed = runtime.follow_invocations();
        let clock = WallClock::measure(runtime.journal_now_ns());
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(REQUEST_TIMEOUT));
        Exporter {
            endpoint,
            feed,
            lost: 0,
            spans: SpanMaker::new(clock),
            resource: spans::resource(spans::host_name().as_deref()),
            client: Client::builder(TokioExecutor::new()).build(connector),
            metrics: Arc::new(OtlpMetrics::new()),
            failures: FailureLog::default(),
        }
    }

    /// Its counters, for `/metrics`.
    pub(crate) fn metrics(&self) -> Arc<OtlpMetrics> {
        self.metrics.clone()
    }

    /// Exports until `closing` turns true (then sends what it holds, once)
    /// or the journal is gone.
    pub(crate) async fn run(mut self, mut closing: watch::Receiver<bool>) {
        tracing::info!(endpoint = %self.endpoint, "exporting invocation spans over OTLP/HTTP");
        let mut batch = Vec::with_capacity(MAX_BATCH_SPANS);
        let due = tokio::time::sleep(MAX_BATCH_DELAY);
        tokio::pin!(due);
        loop {
            tokio::select! {
                biased;
                changed = closing.changed() => {
                    if changed.is_err() || *closing.borrow() {
                        self.send(&mut batch, 1).await;
                        return;
                    }
                }
                record = self.feed.next() => {
                    self.count_lost();
                    let Some(record) = record else {
                        self.send(&mut batch, 1).await;
                        return;
                    };
                    batch.push(self.spans.span(&SpanFields::from(&*record)));
                    if batch.len() == 1 {
                        due.as_mut().reset(tokio::time::Instant::now() + MAX_BATCH_DELAY);
                    }
                    if batch.len() >= MAX_BATCH_SPANS {
                        self.send(&mut batch, ATTEMPTS).await;
                    }
                }
                () = &mut due, if !batch.is_empty() => self.send(&mut batch, ATTEMPTS).await,
            }
        }
    }

    /// Counts the records the feed lost since last asked.
    fn count_lost(&mut self) {
        let lost = self.feed.lost();
        if lost > self.lost {
            self.metrics.dropped(DropReason::FeedLag, lost - self.lost);
            self.lost = lost;
        }
    }

    /// Sends `batch` (leaving it empty) in up to `attempts` tries; counts
    /// what was exported, rejected or given up on.
    async fn send(&mut self, batch: &mut Vec<Span>, attempts: u32) {
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        let spans = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH_SPANS));
        let body = Bytes::from(spans::request(&self.resource, spans).encode_to_vec());
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=attempts {
            match self.post(body.clone()).await {
                Ok(rejected) => {
                    let rejected = rejected.min(count);
                    self.metrics.exported(count - rejected);
                    if rejected > 0 {
                        self.metrics.dropped(DropReason::Rejected, rejected);
                    }
                    self.failures.recovered();
                    return;
                }
                Err(failure) => {
                    self.metrics.export_error();
                    let last = attempt == attempts || !failure.retryable();
                    self.failures
                        .failed(&self.endpoint, &failure, last.then_some(count));
                    if last {
                        break;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        self.metrics.dropped(DropReason::ExportFailed, count);
    }

    /// One export request; the spans the receiver rejected (an OTLP
    /// partial success) when it took the request.
    async fn post(&self, body: Bytes) -> Result<u64, ExportFailure> {
        let request = Request::post(self.endpoint.uri().clone())
            .header(CONTENT_TYPE, PROTOBUF)
            .header(USER_AGENT, concat!("faasrt/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .expect("a POST to a checked URL with fixed headers is a valid request");
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(ExportFailure::Send)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(ExportFailure::Read)?
                .to_bytes();
            Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ExportFailure::TimedOut(REQUEST_TIMEOUT))??;
        if !status.is_success() {
            return Err(ExportFailure::Status(status));
        }
        // An empty body, or one that is no response message, is a full
        // success: the status said so.
        let rejected = ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|response| response.partial_success)
            .map_or(0, |partial| partial.rejected_spans.max(0) as u64);
        Ok(rejected)
    }
}

/// Why one export request failed.
#[derive(Debug, thiserror::Error)]
enum ExportFailure {
    /// No connection, or the request could not be sent.
    #[error("cannot send the request")]
    Send(#[source] hyper_util::client::legacy::Error),
    /// The answer broke off.
    #[error("cannot read the answer")]
    Read(#[source] hyper::Error),
    /// No whole answer in time.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// The receiver refused the request.
    #[error("the receiver answered {0}")]
    Status(StatusCode),
}

impl ExportFailure {
    /// Whether trying again may help: not for a status that says the
    /// request itself is wrong (400, 404, 413, ...).
    fn retryable(&self) -> bool {
        match self {
            ExportFailure::Status(status) => matches!(status.as_u16(), 429 | 502 | 503 | 504),
            _ => true,
        }
    }
}

/// Logs export failures at most once per [`LOG_EVERY`], saying how many
/// were not logged, and once when exports work again.
#[derive(Debug, Default)]
struct FailureLog {
    last_logged: Option<Instant>,
    unlogged: u64,
    failing: bool,
}

impl FailureLog {
    /// Notes a failure; `dropped`: the spans given up on with it.
    fn failed(&mut self, endpoint: &OtlpEndpoint, failure: &ExportFailure, dropped: Option<u64>) {
        self.failing = true;
        if !self.due(Instant::now()) {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(
            %endpoint,
            error = %faasrt_runtime::error_chain(failure),
            dropped_spans = dropped.unwrap_or(0),
            failures_not_logged = self.unlogged,
            "OTLP export failed"
        );
        self.unlogged = 0;
    }

    /// Whether a message may be logged at `now`; if so, it counts as logged.
    fn due(&mut self, now: Instant) -> bool {
        let due = self
            .last_logged
            .is_none_or(|last| now.saturating_duration_since(last) >= LOG_EVERY);
        if due {
            self.last_logged = Some(now);
        }
        due
    }

    /// Notes a success; logs it if failures came before.
    fn recovered(&mut self) {
        if self.failing {
            tracing::info!(
                failures_not_logged = self.unlogged,
                "OTLP export works again"
            );
            self.failing = false;
            self.unlogged = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_logged_at_most_once_per_interval() {
        let mut log = FailureLog::default();
        let start = Instant::now();
        assert!(log.due(start));
        assert!(!log.due(start + Duration::from_secs(1)));
        assert!(!log.due(start + LOG_EVERY - Duration::from_millis(1)));
        assert!(log.due(start + LOG_EVERY));
    }

    #[test]
    fn only_failures_that_may_pass_are_retried() {
        let status = |code| ExportFailure::Status(StatusCode::from_u16(code).unwrap());
        for code in [429, 502, 503, 504] {
            assert!(status(code).retryable(), "{code}");
        }
        for code in [400, 404, 413, 500] {
            assert!(!status(code).retryable(), "{code}");
        }
        assert!(ExportFailure::TimedOut(REQUEST_TIMEOUT).retryable());
    }
}
