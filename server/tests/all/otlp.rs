//! OTLP trace export (`ServerConfig::otlp_endpoint`): a receiver in the
//! test, a small hyper server on a free loopback port that decodes each
//! `ExportTraceServiceRequest` with the same message types, collects the
//! spans; and a receiver that is not there, whose failures are counted
//! while invocations go on.

use crate::support::{TestServer, example, exit_module};
use bytes::Bytes;
use faasrt_server::OtlpEndpoint;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use prost::Message;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest any test here waits for spans or counters.
const WAIT: Duration = Duration::from_secs(30);

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// What the receiver got: each request's path and content type, and the
/// resources and spans in them.
#[derive(Default)]
struct Received {
    requests: Vec<(String, String)>,
    resources: Vec<Resource>,
    spans: Vec<Span>,
}

/// An OTLP/HTTP receiver on a free loopback port, for as long as it lives.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Received::default()));
        let kept = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let kept = kept.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let content_type = request
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let body = request.into_body().collect().await?.to_bytes();
                        let export = ExportTraceServiceRequest::decode(body)
                            .expect("the body is an ExportTraceServiceRequest");
                        let mut kept = kept.lock().unwrap();
                        kept.requests.push((path, content_type));
                        for resource_spans in export.resource_spans {
                            kept.resources.extend(resource_spans.resource);
                            for scope in resource_spans.scope_spans {
                                kept.spans.extend(scope.spans);
                            }
                        }
                        let answer = ExportTraceServiceResponse::default().encode_to_vec();
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(answer))))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Receiver {
            addr,
            received,
            task,
        }
    }

    /// The receiver's base URL, as an operator gives it.
    fn endpoint(&self) -> OtlpEndpoint {
        OtlpEndpoint::parse(&format!("http://{}", self.addr)).expect("a valid endpoint")
    }

    /// The spans received once there are at least `count`.
    async fn spans(&self, count: usize) -> Vec<Span> {
        let deadline = Instant::now() + WAIT;
        loop {
            let spans = self.received.lock().unwrap().spans.clone();
            if spans.len() >= count {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} spans after {WAIT:?}",
                spans.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// POSTs `body` to `path` with a `traceparent`; the whole answer as text.
async fn post_traced(addr: SocketAddr, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: faasrt\r\ntraceparent: {TRACEPARENT}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("request");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, socket.read_to_string(&mut answer))
        .await
        .expect("an answer in time")
        .expect("answer");
    answer
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn int(span: &Span, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::IntValue(value)) => *value,
        other => panic!("{key} is {other:?} in {span:?}"),
    }
}

fn text<'a>(span: &'a Span, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::StringValue(value)) => value,
        other => panic!("{key} is {other:?} in {span:?}"),
    }
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invocation_with_a_traceparent_is_exported_as_a_span_of_that_trace() {
    let receiver = Receiver::start().await;
    let server = TestServer::fresh_exporting(receiver.endpoint());
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    http.deploy("fails", exit_module(3, "no")).await;
    let answer = post_traced(server.addr, "/v1/functions/upper/invoke", "shout").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("SHOUT"),
        "{answer}"
    );
    http.invoke("fails", "", "").await;

    let spans = receiver.spans(2).await;
    let upper = by_name(&spans, "upper")[0];
    assert_eq!(hex::encode(&upper.trace_id), TRACE_ID);
    assert_eq!(hex::encode(&upper.parent_span_id), PARENT_ID);
    assert_eq!(upper.span_id.len(), 8);
    assert_ne!(upper.span_id, vec![0; 8]);
    assert_eq!(upper.kind, SpanKind::Server as i32);
    assert_eq!(upper.status, None, "a success leaves the status unset");
    assert!(
        upper.start_time_unix_nano <= upper.end_time_unix_nano,
        "{upper:?}"
    );
    // The clock conversion lands in the present, not near 1970.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let age = now.saturating_sub(upper.end_time_unix_nano);
    assert!(age < 600_000_000_000, "the span ended {age} ns ago");
    assert_eq!(text(upper, "faasrt.function"), "upper");
    assert_eq!(text(upper, "faasrt.kind"), "wasm");
    assert_eq!(text(upper, "faasrt.outcome"), "ok");
    assert_eq!(int(upper, "faasrt.exit_code"), 0);
    assert_eq!(int(upper, "faasrt.input_bytes"), 5);
    assert_eq!(int(upper, "faasrt.output_bytes"), 5);
    assert!(attribute(upper, "faasrt.stage.index").is_none());

    let fails = by_name(&spans, "fails")[0];
    assert_ne!(
        fails.trace_id, upper.trace_id,
        "no traceparent: a trace of its own"
    );
    assert!(fails.parent_span_id.is_empty());
    let status = fails.status.as_ref().expect("a failure has a status");
    assert_eq!(status.code, SpanStatus::Error as i32);
    assert_eq!(text(fails, "faasrt.outcome"), "exit");
    assert_eq!(int(fails, "faasrt.exit_code"), 3);

    let received = receiver.received.lock().unwrap();
    for (path, content_type) in &received.requests {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
    }
    let resource = &received.resources[0];
    let service = resource
        .attributes
        .iter()
        .find(|a| a.key == "service.name")
        .and_then(|a| a.value.as_ref()?.value.as_ref());
    assert_eq!(service, Some(&Value::StringValue("faasrt".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stage_of_a_pipeline_run_is_a_span_of_the_runs_trace() {
    let receiver = Receiver::start().await;
    let server = TestServer::fresh_exporting(receiver.endpoint());
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    http.deploy("cat", example("cat")).await;
    let answer = post_traced(
        server.addr,
        "/v1/pipelines/run?spec=upper%20%7C%20cat",
        "two",
    )
    .await;
    assert!(answer.contains("TWO"), "{answer}");
    // Two runs without a traceparent: a trace per run.
    for _ in 0..2 {
        let reply = http
            .send(
                hyper::Method::POST,
                "/v1/pipelines/run?spec=upper%20%7C%20cat",
                "x",
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }

    let spans = receiver.spans(6).await;
    assert_eq!(spans.len(), 6, "{spans:?}");
    let traced: Vec<&Span> = spans
        .iter()
        .filter(|s| hex::encode(&s.trace_id) == TRACE_ID)
        .collect();
    assert_eq!(traced.len(), 2, "{spans:?}");
    let run = int(traced[0], "faasrt.stage.run");
    for (span, (index, name, input_edge, output_edge)) in traced
        .iter()
        .zip([(0, "upper", "caller", "pipe"), (1, "cat", "pipe", "caller")])
    {
        assert_eq!(span.name, name);
        assert_eq!(hex::encode(&span.parent_span_id), PARENT_ID);
        assert_eq!(int(span, "faasrt.stage.index"), index);
        assert_eq!(int(span, "faasrt.stage.stages"), 2);
        assert_eq!(int(span, "faasrt.stage.run"), run);
        assert_eq!(text(span, "faasrt.stage.input_edge"), input_edge);
        assert_eq!(text(span, "faasrt.stage.output_edge"), output_edge);
        assert_eq!(int(span, "faasrt.input_bytes"), 3);
        assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
    }
    assert_ne!(traced[0].span_id, traced[1].span_id);

    let untraced: Vec<&Span> = spans
        .iter()
        .filter(|s| hex::encode(&s.trace_id) != TRACE_ID)
        .collect();
    let runs: std::collections::BTreeMap<i64, Vec<&&Span>> =
        untraced.iter().fold(Default::default(), |mut runs, span| {
            runs.entry(int(span, "faasrt.stage.run"))
                .or_default()
                .push(span);
            runs
        });
    assert_eq!(runs.len(), 2, "{untraced:?}");
    let traces: Vec<&Vec<u8>> = runs
        .values()
        .map(|stages| {
            assert_eq!(stages.len(), 2);
            assert_eq!(stages[0].trace_id, stages[1].trace_id, "one trace per run");
            assert!(stages[0].parent_span_id.is_empty());
            &stages[0].trace_id
        })
        .collect();
    assert_ne!(traces[0], traces[1], "each run has its own trace");
}

/// The value of the sample `line` (a metric name and its labels) in a
/// `/metrics` text.
fn metric(text: &str, line: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {line} in {text}"))
        .parse::<f64>()
        .expect("a number") as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_receiver_invocations_go_on_and_the_failures_are_counted() {
    // A port that was free a moment ago and has no listener now.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = OtlpEndpoint::parse(&format!("http://{}", gone.local_addr().unwrap())).unwrap();
    drop(gone);
    let server = TestServer::fresh_exporting(endpoint);
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    const RUNS: u64 = 20;
    let started = Instant::now();
    for _ in 0..RUNS {
        let reply = http.invoke("hello", "", "").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // Not a benchmark: an exporter on the invocations' path would cost
    // each at least its backoff (100 ms, 200 ms) and the batch delay
    // (200 ms), over 6 s for these; they take milliseconds each.
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{RUNS} invocations took {took:?}"
    );

    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = http.get("/metrics").await.text();
        let dropped = metric(
            &text,
            "faasrt_otlp_spans_dropped_total{reason=\"export_failed\"}",
        );
        if dropped >= RUNS {
            break text;
        }
        assert!(Instant::now() < deadline, "after {WAIT:?}: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        metric(
            &text,
            "faasrt_otlp_spans_dropped_total{reason=\"export_failed\"}"
        ),
        RUNS,
        "{text}"
    );
    assert_eq!(
        metric(&text, "faasrt_otlp_spans_exported_total"),
        0,
        "{text}"
    );
    // Every batch was tried three times before it was dropped.
    assert!(
        metric(&text, "faasrt_otlp_export_errors_total") >= 3,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "faasrt_otlp_spans_dropped_total{reason=\"feed_lag\"}"
        ),
        0,
        "{text}"
    );
    // The runtime's own metrics are still there, with one end marker.
    assert!(text.contains("faasrt_invocations_total{"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_nothing_is_exported_or_counted() {
    let server = TestServer::fresh();
    let text = server.http().get("/metrics").await.text();
    assert!(!text.contains("faasrt_otlp_"), "{text}");
}
