//! What the journal observes of each run besides its times: when its
//! instance was ready, its CPU time, its peak memory, its wait for a slot,
//! its hardware counters, and for pipelines every stage with its run, its
//! edges, its waits on them and the caller's trace.

use crate::support::{TestServer, example, sleepy_module, wat};
use hyper::{Method, StatusCode};
use std::time::Duration;

const PAGE: u64 = 64 << 10;

/// A module with 2 pages of memory that grows by `pages` and exits.
fn grower(pages: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (memory (export "memory") 2)
        (func (export "_start") (drop (memory.grow (i32.const {pages})))))"#
    ))
}

fn records(body: &serde_json::Value) -> Vec<serde_json::Value> {
    body["invocations"].as_array().expect("invocations").clone()
}

/// `record[field]` as a number.
fn at(record: &serde_json::Value, field: &str) -> u64 {
    record[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field}: {record}"))
}

/// `record["stage"][field]` as a number.
fn stage_at(record: &serde_json::Value, field: &str) -> u64 {
    record["stage"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("stage.{field}: {record}"))
}

/// Every record's times, one clock: arrival, admission (dequeue), start,
/// instance ready, end, reply, in that order.
fn assert_times_in_order(record: &serde_json::Value) {
    let times: Vec<u64> = [
        "arrival_ns",
        "dequeue_ns",
        "start_ns",
        "ready_ns",
        "end_ns",
        "reply_ns",
    ]
    .iter()
    .map(|field| at(record, field))
    .collect();
    assert!(times.is_sorted(), "{record}");
}

/// A module that writes `bytes` bytes of zeros to faasout in one
/// `fd_write` (WASI hands them on in 4 KiB pieces) and exits.
fn writer(bytes: u32) -> Vec<u8> {
    let pages = bytes / PAGE as u32 + 1;
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") {pages})
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const {bytes}))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#
    ))
}

/// A module that sleeps `ms` milliseconds, then reads faasin to its end
/// and writes nothing: a consumer that is late to read.
fn late_reader(ms: u64) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 2)
        (func (export "_start")
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const {ns}))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
            (i32.store (i32.const 256) (i32.const 4096))
            (i32.store (i32.const 260) (i32.const 65536))
            (block $done
                (loop $more
                    (br_if $done (call $fd_read (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 264)))
                    (br_if $done (i32.eqz (i32.load (i32.const 264))))
                    (br $more)))))"#,
        ns = ms * 1_000_000
    ))
}

/// Runs `spec` as a pipeline on `input` and returns its stages' records.
async fn pipeline_records(http: &crate::support::Http, spec: &str) -> Vec<serde_json::Value> {
    let path = format!(
        "/v1/pipelines/run?spec={}",
        percent_encoding::utf8_percent_encode(spec, percent_encoding::NON_ALPHANUMERIC)
    );
    let reply = http.send(Method::POST, &path, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let kept = records(&http.get("/v1/invocations").await.json());
    kept.into_iter()
        .filter(|record| record.get("stage").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasm_record_has_its_ready_time_cpu_time_and_exact_peak_memory() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("grow", grower(10)).await;
    http.deploy("still", grower(0)).await;
    assert_eq!(http.invoke("grow", "", "").await.status, StatusCode::OK);
    assert_eq!(http.invoke("still", "", "").await.status, StatusCode::OK);
    let body = http.get("/v1/invocations").await.json();
    let kept = records(&body);
    assert_eq!(kept.len(), 2, "{body}");
    for (record, pages) in kept.iter().zip([12, 2]) {
        let at = |field: &str| {
            record[field]
                .as_u64()
                .unwrap_or_else(|| panic!("{field}: {record}"))
        };
        assert_times_in_order(record);
        assert_eq!(at("dequeue_ns"), at("arrival_ns"), "a free slot: {record}");
        let cpu = at("cpu_ns");
        assert!(cpu > 0 && cpu <= at("end_ns") - at("start_ns"), "{record}");
        assert_eq!(at("peak_memory_bytes"), pages * PAGE, "{record}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_record_has_the_cpu_time_and_peak_rss_the_kernel_accounted() {
    let server = TestServer::fresh();
    let http = server.http();
    let sh = std::fs::read("/bin/sh").expect("/bin/sh");
    let spin = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done";
    let query: String = form_urlencoded::Serializer::new(String::from("kind=native&"))
        .append_pair("arg", "-c")
        .append_pair("arg", spin)
        .finish();
    let reply = http.deploy_with("spin", &query, sh).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(http.invoke("spin", "", "").await.status, StatusCode::OK);
    let body = http.get("/v1/invocations").await.json();
    let record = &records(&body)[0];
    assert_eq!(record["kind"], "native", "{record}");
    let at = |field: &str| {
        record[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: {record}"))
    };
    // Thirty thousand shell iterations take milliseconds of CPU, and the
    // CPU time cannot exceed the wall time of one single-threaded process.
    assert!(at("cpu_ns") >= 2_000_000, "{record}");
    assert!(at("cpu_ns") <= at("end_ns") - at("start_ns"), "{record}");
    assert!(at("peak_memory_bytes") >= 256 << 10, "{record}");
    assert_times_in_order(record);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stage_of_a_pipeline_is_journaled_with_its_run_edges_and_trace() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    http.deploy("cat", example("cat")).await;
    http.invoke("cat", "", "before").await;
    let mut socket = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let input = "through two stages\n";
    let request = format!(
        "POST /v1/pipelines/run?spec=upper%20%7C%20cat HTTP/1.1\r\nhost: faasrt\r\n\
         traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{input}",
        input.len()
    );
    socket.write_all(request.as_bytes()).await.expect("request");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("answer");
    assert!(answer.contains("THROUGH TWO STAGES"), "{answer}");

    let body = http.get("/v1/invocations").await.json();
    let kept = records(&body);
    assert_eq!(kept.len(), 3, "{body}");
    assert!(kept[0].get("stage").is_none(), "an invocation is no stage");
    let (upper, cat) = (&kept[1], &kept[2]);
    assert_eq!(upper["function"], "upper");
    assert_eq!(cat["function"], "cat");
    let run = upper["seq"].as_u64().unwrap();
    assert_eq!(cat["seq"].as_u64().unwrap(), run + 1);
    for (record, index) in [(upper, 0), (cat, 1)] {
        let stage = &record["stage"];
        assert_eq!(stage["run"], run, "{record}");
        assert_eq!(stage["index"], index, "{record}");
        assert_eq!(stage["stages"], 2, "{record}");
        assert_eq!(
            record["trace"], "0af7651916cd43dd8448eb211c80319c",
            "{record}"
        );
        assert_eq!(record["input_bytes"], input.len(), "{record}");
        assert_eq!(record["output_bytes"], input.len(), "{record}");
        assert_times_in_order(record);
        assert_eq!(record["dequeue_ns"], record["arrival_ns"], "{record}");
    }
    // One run, one reply.
    assert_eq!(upper["reply_ns"], cat["reply_ns"]);
    assert_eq!(upper["stage"]["input_edge"], "caller");
    assert_eq!(upper["stage"]["output_edge"], "pipe");
    assert_eq!(cat["stage"]["input_edge"], "pipe");
    assert_eq!(cat["stage"]["output_edge"], "caller");

    // A run without a traceparent has stages without a trace.
    let reply = http
        .send(Method::POST, "/v1/pipelines/run?spec=cat", "x")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let last = records(&http.get("/v1/invocations?limit=10").await.json())
        .pop()
        .unwrap();
    assert_eq!(last["stage"]["stages"], 1, "{last}");
    assert!(last.get("trace").is_none(), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invocation_that_waits_for_a_slot_is_dequeued_when_the_slot_frees() {
    let server = TestServer::fresh_with(
        |config| config.max_instances(1).slot_wait(Duration::from_secs(30)),
        false,
    );
    let http = server.http();
    http.deploy("slow", sleepy_module(300, "done")).await;
    let first = {
        let http = http.clone();
        tokio::spawn(async move { http.invoke("slow", "", "").await })
    };
    // The first holds the one slot for 300 ms; the second arrives while
    // it does and waits in line.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = http.invoke("slow", "", "").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(first.await.expect("joins").status, StatusCode::OK);

    let kept = records(&http.get("/v1/invocations").await.json());
    assert_eq!(kept.len(), 2, "{kept:?}");
    // Journaled as they end: the one that had the slot first.
    let (free, waited) = (&kept[0], &kept[1]);
    for record in [free, waited] {
        assert_times_in_order(record);
    }
    assert_eq!(at(free, "dequeue_ns"), at(free, "arrival_ns"), "{free}");
    assert!(
        at(waited, "arrival_ns") < at(free, "end_ns"),
        "it arrived while the first ran"
    );
    assert!(
        at(waited, "dequeue_ns") > at(waited, "arrival_ns"),
        "{waited}"
    );
    // Its slot was the one the first gave back after it ended.
    assert!(
        at(waited, "dequeue_ns") >= at(free, "end_ns"),
        "{free} {waited}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_slot_wait_a_full_server_still_answers_429_at_once() {
    let server = TestServer::fresh_with(|config| config.max_instances(1), false);
    let http = server.http();
    http.deploy("slow", sleepy_module(300, "done")).await;
    let first = {
        let http = http.clone();
        tokio::spawn(async move { http.invoke("slow", "", "").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = http.invoke("slow", "", "").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.await.expect("joins").status, StatusCode::OK);
}

/// How long the slow stage of the pipeline tests sleeps before it reads
/// or writes.
const SLOW_MS: u64 = 300;

/// The part of [`SLOW_MS`] a waiting stage must have been seen to wait:
/// all of it but what a loaded machine may take to start the other stage.
const WAITED_AT_LEAST_NS: u64 = (SLOW_MS - 50) * 1_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_producer_ahead_of_a_late_consumer_is_blocked_writing() {
    let server = TestServer::fresh();
    let http = server.http();
    // Four times the default 64 KiB pipe: the producer fills it at once
    // and waits until the consumer wakes from its sleep.
    http.deploy("produce", writer(256 << 10)).await;
    http.deploy("late", late_reader(SLOW_MS)).await;
    let kept = pipeline_records(&http, "produce | late").await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let (producer, consumer) = (&kept[0], &kept[1]);
    for record in [producer, consumer] {
        assert_times_in_order(record);
    }
    assert_eq!(at(producer, "output_bytes"), 256 << 10, "{producer}");
    assert_eq!(at(consumer, "input_bytes"), 256 << 10, "{consumer}");
    let blocked = stage_at(producer, "blocked_write_ns");
    assert!(blocked >= WAITED_AT_LEAST_NS, "{producer}");
    // It waited no longer than it ran.
    assert!(
        blocked <= at(producer, "end_ns") - at(producer, "start_ns"),
        "{producer}"
    );
    // Its input was the (empty) request body, there at once.
    assert!(
        stage_at(producer, "blocked_read_ns") < WAITED_AT_LEAST_NS,
        "{producer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_behind_a_slow_producer_is_blocked_reading() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("slow", sleepy_module(SLOW_MS, "late")).await;
    http.deploy("cat", example("cat")).await;
    let kept = pipeline_records(&http, "slow | cat").await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let (producer, consumer) = (&kept[0], &kept[1]);
    for record in [producer, consumer] {
        assert_times_in_order(record);
    }
    let blocked = stage_at(consumer, "blocked_read_ns");
    assert!(blocked >= WAITED_AT_LEAST_NS, "{consumer}");
    assert!(
        blocked <= at(consumer, "end_ns") - at(consumer, "start_ns"),
        "{consumer}"
    );
    // Four bytes never fill a pipe.
    assert_eq!(stage_at(producer, "blocked_write_ns"), 0, "{producer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hardware_counters_are_counted_or_null_with_the_reason_in_the_report() {
    let server = TestServer::fresh_with(|config| config.hw_counters(true), false);
    let http = server.http();
    http.deploy("grow", grower(1)).await;
    assert_eq!(http.invoke("grow", "", "").await.status, StatusCode::OK);
    // A native function too: its counters are opened on its process.
    let query: String = form_urlencoded::Serializer::new(String::from("kind=native&"))
        .append_pair("arg", "-c")
        .append_pair("arg", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done")
        .finish();
    let sh = std::fs::read("/bin/sh").expect("/bin/sh");
    let reply = http.deploy_with("spin", &query, sh).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(http.invoke("spin", "", "").await.status, StatusCode::OK);
    let health = http.get("/healthz?verbose=1").await.json();
    let mechanism = health["mechanisms"]
        .as_array()
        .expect("mechanisms")
        .iter()
        .find(|m| m["name"] == "hw-counters")
        .cloned()
        .unwrap_or_else(|| panic!("no hw-counters in {health}"));
    let kept = records(&http.get("/v1/invocations").await.json());
    assert_eq!(kept.len(), 2, "{kept:?}");
    let counters = ["cycles", "instructions", "llc_misses"];
    for record in &kept {
        if mechanism["available"] == true {
            assert_eq!(mechanism["active"], true, "{mechanism}");
            assert!(at(record, "cycles") > 0, "{record}");
            assert!(at(record, "instructions") > 0, "{record}");
            assert!(record["llc_misses"].is_u64(), "{record}");
        } else {
            assert_eq!(mechanism["active"], false, "{mechanism}");
            let detail = mechanism["detail"].as_str().expect("detail");
            assert!(detail.starts_with("cannot count "), "{mechanism}");
            for counter in counters {
                assert!(record[counter].is_null(), "{counter}: {record}");
            }
        }
    }

    // Off (the default), the counts are null whatever the machine offers.
    let plain = TestServer::fresh();
    let http = plain.http();
    http.deploy("grow", grower(1)).await;
    http.invoke("grow", "", "").await;
    let record = &records(&http.get("/v1/invocations").await.json())[0];
    for counter in counters {
        assert!(record[counter].is_null(), "{counter}: {record}");
    }
}
