//! Streams over HTTP: the `/v1/streams` routes, their status codes and
//! error codes, the token on management calls, and a keyed word count
//! from `PUT` to its committed output and state.

use crate::support::{TestServer, example, read_until};
use hyper::{Method, StatusCode};
use std::time::{Duration, Instant};

const SPEC: &str = r#"{"stages": [{"function": "words"}, {"function": "word-count", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_keyed_word_count_over_http() {
    let server = TestServer::fresh();
    let http = server.http();
    for name in ["words", "word-count"] {
        assert_eq!(
            http.deploy(name, example(name)).await.status,
            StatusCode::CREATED
        );
    }
    let created = http.send(Method::PUT, "/v1/streams/wc", SPEC).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["state"], "created");
    assert_eq!(
        created.json()["digests"].as_array().expect("digests").len(),
        2
    );
    let again = http.send(Method::PUT, "/v1/streams/wc", SPEC).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the same spec again is no change"
    );
    // Management calls need the token; appending is like invoking.
    let anonymous = http.anonymous();
    let refused = anonymous
        .send(Method::POST, "/v1/streams/wc/start", "")
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let started = http.send(Method::POST, "/v1/streams/wc/start", "").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let ack = anonymous
        .send(
            Method::POST,
            "/v1/streams/wc/records",
            "to be or not to be\n",
        )
        .await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.text());
    assert_eq!(ack.json()["next_offset"], 1);
    // Long-poll the output until all six counts are committed.
    let mut output = String::new();
    let mut from = 0;
    let started = Instant::now();
    while output.lines().count() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "output so far: {output:?}"
        );
        let read = http
            .get(&format!("/v1/streams/wc/output?from={from}&wait_ms=1000"))
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        from = read
            .header("x-faasrt-next-offset")
            .expect("next offset")
            .parse()
            .expect("a number");
        output.push_str(&read.text());
    }
    let mut lines: Vec<&str> = output.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["be 1", "be 2", "not 1", "or 1", "to 1", "to 2"]);
    let drained = http.send(Method::POST, "/v1/streams/wc/drain", "").await;
    assert_eq!(drained.json()["state"], "stopped", "{}", drained.text());
    let state = http.get("/v1/streams/wc/state").await.json();
    let to = state["state"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["key"] == "to")
        .expect("to is counted")
        .clone();
    assert_eq!(
        (to["stage"].as_u64(), to["value"].as_str()),
        (Some(1), Some("2"))
    );
    let input = http.get("/v1/streams/wc/records?from=0").await;
    assert_eq!(
        input.text(),
        "to be or not to be\n",
        "the input log replays"
    );
    let listed = http.get("/v1/streams").await.json();
    assert_eq!(listed["streams"][0]["name"], "wc");
    let rescaled = http
        .send(
            Method::PATCH,
            "/v1/streams/wc/stages/1",
            r#"{"replicas": 3}"#,
        )
        .await;
    assert_eq!(rescaled.status, StatusCode::OK, "{}", rescaled.text());
    assert_eq!(rescaled.json()["replicas"], 3);
    assert_eq!(
        http.delete_path("/v1/streams/wc").await.status,
        StatusCode::OK
    );
    assert_eq!(
        http.get("/v1/streams/wc").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_errors_are_4xx_with_stable_codes() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("words", example("words")).await.status,
        StatusCode::CREATED
    );
    let cases = [
        (
            Method::PUT,
            "/v1/streams/s",
            "{",
            StatusCode::BAD_REQUEST,
            "invalid_stream_spec",
        ),
        (
            Method::PUT,
            "/v1/streams/s",
            r#"{"stages": [{"function": "nope"}]}"#,
            StatusCode::BAD_REQUEST,
            "function_not_found",
        ),
        (
            Method::GET,
            "/v1/streams/none",
            "",
            StatusCode::NOT_FOUND,
            "stream_not_found",
        ),
        (
            Method::POST,
            "/v1/streams/none/records",
            "x\n",
            StatusCode::NOT_FOUND,
            "stream_not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let reply = http.send(method.clone(), path, body).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code.to_owned()),
            "{method} {path}"
        );
    }
    assert!(
        http.get("/v1/streams").await.json()["streams"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    let spec = r#"{"stages": [{"function": "words", "key": {"field": 2}}]}"#;
    assert_eq!(
        http.send(Method::PUT, "/v1/streams/s", spec).await.status,
        StatusCode::CREATED
    );
    let bad_key = http
        .send(Method::POST, "/v1/streams/s/records", "one two\n")
        .await;
    assert_eq!(
        (bad_key.status, bad_key.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_records".to_owned())
    );
    let big = "x".repeat((1 << 20) + 1);
    let too_large = http.send(Method::POST, "/v1/streams/s/records", big).await;
    assert_eq!(
        (too_large.status, too_large.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "record_too_large".to_owned())
    );
    let not_running = http.send(Method::POST, "/v1/streams/s/drain", "").await;
    assert_eq!(
        (not_running.status, not_running.error_code()),
        (StatusCode::CONFLICT, "wrong_state".to_owned())
    );
    let no_stage = http
        .send(
            Method::PATCH,
            "/v1/streams/s/stages/5",
            r#"{"replicas": 2}"#,
        )
        .await;
    assert_eq!(
        (no_stage.status, no_stage.error_code()),
        (StatusCode::NOT_FOUND, "stage_not_found".to_owned())
    );
    let zero = http
        .send(
            Method::PATCH,
            "/v1/streams/s/stages/0",
            r#"{"replicas": 0}"#,
        )
        .await;
    assert_eq!(
        (zero.status, zero.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_replicas".to_owned())
    );
    let status = http.get("/v1/streams/s").await.json();
    assert_eq!(
        status["input"]["end"], 0,
        "nothing of a refused append is stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_reads_a_file_from_the_source_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path());
    let http = server.http();
    http.deploy("word-count", example("word-count")).await;
    let spec = r#"{"stages": [{"function": "word-count", "key": {"field": 0}}], "checkpoint_interval_ms": 100, "source": {"file": "words.txt"}}"#;
    let missing = http.send(Method::PUT, "/v1/streams/fwc", spec).await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "{}",
        missing.text()
    );
    assert_eq!(missing.error_code(), "invalid_source");
    assert_eq!(missing.json()["error"]["file"], "words.txt");
    // The server made its source directory in the data directory.
    std::fs::write(
        dir.path().join("sources/words.txt"),
        "to\nbe\nor\nnot\nto\nbe\n",
    )
    .unwrap();
    let created = http.send(Method::PUT, "/v1/streams/fwc", spec).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let posted = http
        .send(Method::POST, "/v1/streams/fwc/records", "x\n")
        .await;
    assert_eq!(posted.status, StatusCode::CONFLICT);
    assert_eq!(posted.error_code(), "source_is_file");
    http.send(Method::POST, "/v1/streams/fwc/start", "").await;
    // Read to its end, the stream drains by itself.
    let started = Instant::now();
    loop {
        let status = http.get("/v1/streams/fwc").await.json();
        if status["state"] == "stopped" {
            assert_eq!(status["checkpoint"]["source_offset"], 6);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = http.get("/v1/streams/fwc/state").await.json();
    let to = state["state"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "to")
        .expect("to counted");
    assert_eq!(to["value"], "2");
    let escape = spec.replace("words.txt", "../token");
    let refused = http.send(Method::PUT, "/v1/streams/esc", escape).await;
    assert_eq!(refused.error_code(), "invalid_stream_spec");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_followed_output_streams_each_commit_and_ends_with_the_server() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path());
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    let spec = r#"{"stages": [{"function": "upper"}], "checkpoint_interval_ms": 100}"#;
    http.send(Method::PUT, "/v1/streams/shout", spec).await;
    http.send(Method::POST, "/v1/streams/shout/start", "").await;
    http.send(Method::POST, "/v1/streams/shout/records", "one\n")
        .await;
    let mut socket = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    socket
        .write_all(b"GET /v1/streams/shout/output?follow=true HTTP/1.1\r\nhost: faasrt\r\n\r\n")
        .await
        .expect("request");
    let mut seen = Vec::new();
    read_until(&mut socket, &mut seen, |text| text.contains("ONE\n")).await;
    let head = String::from_utf8_lossy(&seen).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("x-faasrt-next-offset: 0"), "{head}");
    // Later commits arrive on the same answer, in order.
    http.send(Method::POST, "/v1/streams/shout/records", "two\nthree\n")
        .await;
    read_until(&mut socket, &mut seen, |text| text.contains("THREE\n")).await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.find("ONE").unwrap() < text.find("TWO").unwrap());
    // A graceful shutdown ends the body instead of waiting for it.
    let stopping = std::thread::spawn(move || server.stop());
    read_until(&mut socket, &mut seen, |text| text.ends_with("0\r\n\r\n")).await;
    stopping.join().expect("the server stopped");
}
