//! `GET /v1/invocations`: the journal of recent invocations, filtered and
//! paged, and followed live as JSON lines.

use crate::support::{TestServer, example, preinit_module, read_until, trap_module};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn each_invocation_is_recorded_with_consistent_times_and_sizes() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    http.deploy("upper", example("upper")).await;
    http.deploy("boom", trap_module()).await;
    http.deploy("pre", preinit_module("")).await;
    assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
    assert_eq!(http.invoke("upper", "", "abc").await.text(), "ABC");
    http.invoke("boom", "", "xy").await;
    http.invoke("pre", "", "").await;
    // A refused request is not an invocation.
    assert_eq!(
        http.invoke("nobody", "", "").await.status,
        StatusCode::NOT_FOUND
    );

    let reply = http.get("/v1/invocations").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let records = body["invocations"].as_array().unwrap().clone();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["function"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "upper", "boom", "pre"], "{body}");
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(body["next"], seqs[3]);
    for record in &records {
        let (arrival, start, end) = (
            record["arrival_ns"].as_u64().unwrap(),
            record["start_ns"].as_u64().unwrap(),
            record["end_ns"].as_u64().unwrap(),
        );
        assert!(arrival <= start && start <= end, "{record}");
        assert_eq!(record["kind"], "wasm");
    }
    assert_eq!(records[0]["outcome"], "ok");
    // hello has no init to snapshot; pre has one.
    assert_eq!(records[0]["start_kind"], "instance");
    assert_eq!(records[3]["start_kind"], "snapshot", "{}", records[3]);
    assert_eq!(records[0]["output_bytes"], 14);
    assert_eq!(records[1]["input_bytes"], 3);
    assert_eq!(records[1]["output_bytes"], 3);
    assert_eq!(records[2]["outcome"], "trap", "{}", records[2]);
    assert_ne!(records[2]["exit_code"], 0);

    // Filtered by function, and paged from a seq.
    let upper = http.get("/v1/invocations?function=upper").await.json();
    assert_eq!(upper["invocations"].as_array().unwrap().len(), 1);
    let after = http
        .get(&format!("/v1/invocations?since={}", seqs[0]))
        .await
        .json();
    assert_eq!(after["invocations"].as_array().unwrap().len(), 3);
    let one = http.get("/v1/invocations?limit=1").await.json();
    assert_eq!(one["invocations"][0]["function"], "hello");
    assert_eq!(one["next"], seqs[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_query_is_refused_with_its_parameter() {
    let server = TestServer::fresh();
    let http = server.http();
    for (query, words) in [
        ("since=-1", "since"),
        ("limit=x", "limit"),
        ("follow=maybe", "follow"),
        ("who=1", "who"),
    ] {
        let reply = http.get(&format!("/v1/invocations?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text()
        );
        assert!(reply.text().contains(words), "{query}: {}", reply.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_gets_past_records_then_each_new_one_as_a_line() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    http.deploy("upper", example("upper")).await;
    http.invoke("hello", "", "").await;
    let mut socket = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    socket
        .write_all(
            b"GET /v1/invocations?follow=true&function=upper HTTP/1.1\r\nhost: faasrt\r\n\r\n",
        )
        .await
        .expect("request");
    let mut seen = Vec::new();
    read_until(&mut socket, &mut seen, |text| {
        text.contains("application/x-ndjson")
    })
    .await;
    // The follower names upper only: hello's record is not sent.
    http.invoke("hello", "", "").await;
    http.invoke("upper", "", "four").await;
    read_until(&mut socket, &mut seen, |text| {
        text.contains("\"input_bytes\":4")
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.to_lowercase().starts_with("http/1.1 200"), "{text}");
    assert!(!text.contains("\"function\":\"hello\""), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("\"function\":\"upper\""))
        .expect("upper's record as a line");
    let record: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
    assert_eq!(record["output_bytes"], 4);
    // The server's shutdown ends the body.
    let stopping = std::thread::spawn(move || server.stop());
    read_until(&mut socket, &mut seen, |text| text.ends_with("0\r\n\r\n")).await;
    stopping.join().expect("the server stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_invocations_each_get_one_record() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let input = "x".repeat(i % 7 + 1);
            let reply = http.invoke("upper", "", input.clone()).await;
            assert_eq!(reply.text(), input.to_uppercase());
        }));
    }
    for task in tasks {
        task.await.expect("an invocation");
    }
    let body = http.get("/v1/invocations?limit=1000").await.json();
    let records = body["invocations"].as_array().unwrap();
    assert_eq!(records.len(), 200);
    let mut seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 200, "every seq once, in order");
    let input_total: u64 = records
        .iter()
        .map(|r| r["input_bytes"].as_u64().unwrap())
        .sum();
    let sent_total: u64 = (0..200u64).map(|i| i % 7 + 1).sum();
    assert_eq!(input_total, sent_total);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callers_traceparent_is_kept_with_its_record() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    for traceparent in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        // Invalid (uppercase): ignored, the invocation still runs.
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ] {
        let mut socket = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let request = format!(
            "POST /v1/functions/hello/invoke HTTP/1.1\r\nhost: faasrt\r\ntraceparent: {traceparent}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.expect("request");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.expect("answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    http.invoke("hello", "", "").await;
    let body = http.get("/v1/invocations").await.json();
    let records = body["invocations"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0]["trace"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{}",
        records[0]
    );
    assert!(records[1].get("trace").is_none(), "{}", records[1]);
    assert!(records[2].get("trace").is_none(), "{}", records[2]);
}
