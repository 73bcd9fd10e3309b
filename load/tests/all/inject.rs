//! The open-loop injector against a stand-in server inside the test: every
//! invocation sent at its time and recorded consistently, errors recorded,
//! and an overloaded target stopping the run instead of hiding its delay.

use faasrt_load::{
    ClosedLoop, HttpTarget, InjectOptions, Mapping, Schedule, run_closed_loop, run_http,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stand-in server received: `(path, body)` per invocation.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A server on a free port that answers every POST after `delay`: 200 and
/// the body upper-cased for `/v1/functions/up/invoke`, 404 for any other
/// function. It runs on its own thread until the test process ends.
pub(crate) fn stand_in_server(delay: Duration) -> (SocketAddr, Received) {
    let (addr, received, _) = counting_stand_in_server(delay);
    (addr, received)
}

/// [`stand_in_server`], which also counts the connections it accepted.
fn counting_stand_in_server(delay: Duration) -> (SocketAddr, Received, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    let received: Received = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = received.clone();
    std::thread::spawn(move || {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        io.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::Relaxed);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let seen = seen.clone();
                            async move {
                                let path = request.uri().path().to_owned();
                                let body = match request.into_body().collect().await {
                                    Ok(body) => body.to_bytes(),
                                    Err(_) => Bytes::new(),
                                };
                                // The injector's connection warm-up (GET /healthz) is not
                                // an invocation.
                                if path.ends_with("/invoke") {
                                    seen.lock().unwrap().push((path.clone(), body.to_vec()));
                                }
                                tokio::time::sleep(delay).await;
                                let (status, answer) = if path == "/v1/functions/up/invoke" {
                                    (200, body.to_ascii_uppercase())
                                } else {
                                    (404, b"{\"error\":{\"code\":\"not_found\"}}".to_vec())
                                };
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from(answer)))
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    (addr, received, accepted)
}

/// `n` invocations of trace function `f`, `gap` apart, each with input
/// `in-<i>`, read back from a saved CSV as a user's schedule would be.
fn schedule(n: u64, gap: Duration, function: &str) -> Schedule {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    let mut text = String::from("scheduled_ns,function,input\n");
    for i in 0..n {
        text.push_str(&format!(
            "{},{function},in-{i}\n",
            i * gap.as_nanos() as u64
        ));
    }
    std::fs::write(&path, text).unwrap();
    Schedule::read_csv(&path).unwrap()
}

#[test]
fn every_invocation_is_sent_at_its_time_and_recorded_consistently() {
    let (addr, received) = stand_in_server(Duration::from_millis(1));
    let schedule = schedule(200, Duration::from_millis(2), "trace/f");
    let mapping = Mapping::new(&["trace/f=up".into()], vec![]).unwrap();
    let target = HttpTarget { addr, token: None };
    let run = run_http(&schedule, &mapping, &target, &InjectOptions::default()).unwrap();
    assert!(run.aborted.is_none(), "{:?}", run.aborted);
    assert_eq!(run.records.len(), 200);
    for (i, record) in run.records.iter().enumerate() {
        let expected = schedule.entries()[i].at_ns;
        assert_eq!(record.index, i as u64);
        assert_eq!(record.scheduled_ns, expected);
        assert!(record.sent_ns >= record.scheduled_ns, "{record:?}");
        assert!(record.done_ns >= record.sent_ns, "{record:?}");
        assert_eq!(record.status, 200, "{record:?}");
        assert_eq!(&*record.function, "up");
        assert_eq!(&*record.trace_function, "trace/f");
        assert_eq!(record.request_bytes, format!("in-{i}").len() as u64);
        assert_eq!(record.response_bytes, record.request_bytes);
        assert_eq!(record.trace_id().len(), 32, "{record:?}");
        assert!(
            record.trace_id().ends_with(&format!("{i:016x}")),
            "{record:?}"
        );
    }
    let mut trace_ids: Vec<String> = run.records.iter().map(|r| r.trace_id()).collect();
    trace_ids.sort_unstable();
    trace_ids.dedup();
    assert_eq!(trace_ids.len(), 200, "one trace id per invocation");
    // The whole run takes the schedule's span, not the sum of the answers.
    assert!(run.wall >= Duration::from_millis(398), "{:?}", run.wall);
    let mut bodies: Vec<Vec<u8>> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    bodies.sort();
    let mut sent: Vec<Vec<u8>> = (0..200).map(|i| format!("in-{i}").into_bytes()).collect();
    sent.sort();
    assert_eq!(bodies, sent, "the server received each input once");
}

#[test]
fn requests_beyond_the_warm_connections_wait_for_one_instead_of_opening_more() {
    let (addr, _, accepted) = counting_stand_in_server(Duration::from_millis(40));
    // 12 invocations due at once, 3 connections: four rounds of 40 ms.
    let schedule = schedule(12, Duration::ZERO, "trace/f");
    let mapping = Mapping::new(&["trace/f=up".into()], vec![]).unwrap();
    let options = InjectOptions {
        connections: 3,
        ..InjectOptions::default()
    };
    let run = run_http(
        &schedule,
        &mapping,
        &HttpTarget { addr, token: None },
        &options,
    )
    .unwrap();
    assert_eq!(run.records.iter().filter(|r| r.status == 200).count(), 12);
    assert_eq!(
        accepted.load(Ordering::Relaxed),
        3,
        "no connection beyond the warm ones"
    );
    let mut latencies: Vec<u64> = run.records.iter().map(|r| r.latency_ns()).collect();
    latencies.sort_unstable();
    // The last round waited for three before it: its latency shows it.
    assert!(latencies[11] >= 150_000_000, "{latencies:?}");
}

#[test]
fn an_error_answer_is_recorded_with_its_status_and_body() {
    let (addr, _) = stand_in_server(Duration::ZERO);
    let schedule = schedule(3, Duration::from_millis(1), "trace/g");
    let mapping = Mapping::new(&[], vec!["missing".into()]).unwrap();
    let run = run_http(
        &schedule,
        &mapping,
        &HttpTarget { addr, token: None },
        &InjectOptions::default(),
    )
    .unwrap();
    assert_eq!(run.records.len(), 3);
    for record in &run.records {
        assert_eq!(record.status, 404);
        assert!(!record.succeeded());
        assert!(
            record.error.as_deref().unwrap().contains("not_found"),
            "{record:?}"
        );
    }
}

#[test]
fn a_target_that_cannot_keep_up_stops_the_run() {
    // Each answer takes 100 ms and at most 2 are in flight: 20 per second
    // against 1000 due in one second.
    let (addr, _) = stand_in_server(Duration::from_millis(100));
    let schedule = schedule(1000, Duration::from_millis(1), "trace/f");
    let mapping = Mapping::new(&[], vec!["up".into()]).unwrap();
    let options = InjectOptions {
        max_in_flight: 2,
        ..InjectOptions::default()
    };
    let run = run_http(
        &schedule,
        &mapping,
        &HttpTarget { addr, token: None },
        &options,
    )
    .unwrap();
    let reason = run.aborted.expect("the guard stops the run");
    assert!(reason.contains("behind"), "{reason}");
    assert!(run.records.len() < 1000, "{} sent", run.records.len());
    assert!(run.records.iter().all(|r| r.succeeded()));
}

#[test]
fn a_server_that_is_not_there_is_recorded_as_failed_requests() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let schedule = schedule(2, Duration::from_millis(1), "trace/f");
    let mapping = Mapping::new(&[], vec!["up".into()]).unwrap();
    let run = run_http(
        &schedule,
        &mapping,
        &HttpTarget { addr, token: None },
        &InjectOptions::default(),
    )
    .unwrap();
    assert_eq!(run.records.len(), 2);
    assert!(
        run.records
            .iter()
            .all(|r| r.status == 0 && r.error.is_some()),
        "{:?}",
        run.records
    );
}

#[test]
fn a_closed_loop_keeps_one_invocation_in_flight_per_client() {
    let delay = Duration::from_millis(5);
    let (addr, received) = stand_in_server(delay);
    let load = ClosedLoop {
        functions: vec!["up".into()],
        clients: 3,
        duration: Duration::from_millis(300),
        input: "x".into(),
    };
    let run = run_closed_loop(
        &load,
        &HttpTarget { addr, token: None },
        &InjectOptions::default(),
    )
    .unwrap();
    let sent = run.records.len();
    // Each client waits for its answer (>= 5 ms) before the next: at most
    // 3 * (300 / 5) + 3 in all.
    assert!(sent > 10 && sent <= 3 * 60 + 3, "{sent} sent");
    assert_eq!(received.lock().unwrap().len(), sent);
    assert!(
        run.records
            .iter()
            .all(|r| r.succeeded() && r.response_bytes == 1)
    );
    assert!(run.records.windows(2).all(|w| w[0].sent_ns <= w[1].sent_ns));
    let indexes: Vec<u64> = run.records.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (0..sent as u64).collect::<Vec<_>>());
}

#[test]
fn a_server_without_the_journal_is_reported_not_fatal() {
    // The stand-in answers 404 to GET /v1/invocations, as a server before
    // the journal would.
    let (addr, _) = stand_in_server(Duration::ZERO);
    let follower =
        faasrt_load::server_journal::JournalFollower::start(&HttpTarget { addr, token: None });
    let followed = follower.finish(Duration::from_millis(200));
    assert!(followed.by_trace.is_empty());
    let error = followed.error.expect("the 404 is reported");
    assert!(error.contains("404"), "{error}");
}
