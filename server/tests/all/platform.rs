//! `GET /v1/platform`: the platform's time series, sampled every
//! `SAMPLE_INTERVAL` by a test server: runs in flight and slots held while
//! they run, exact counts of what ended, refusals and kills, the pipes of a
//! running pipeline, and the series followed live.

use crate::support::{
    SAMPLE_INTERVAL, TestServer, example, loop_module, read_until, sleepy_module,
};
use faasrt_testkit::http::Http;
use hyper::{Method, StatusCode};
use std::time::{Duration, Instant};

fn samples(body: &serde_json::Value) -> Vec<serde_json::Value> {
    body["samples"].as_array().expect("samples").clone()
}

/// Polls the series until a sample satisfies `wanted`, for at most 10 s.
async fn wait_for_sample(
    http: &Http,
    mut wanted: impl FnMut(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut since = 0;
    loop {
        let body = http
            .get(&format!("/v1/platform?since={since}"))
            .await
            .json();
        for sample in samples(&body) {
            if wanted(&sample) {
                return sample;
            }
        }
        since = body["next"].as_u64().unwrap();
        assert!(Instant::now() < deadline, "no such sample; last: {body}");
        tokio::time::sleep(SAMPLE_INTERVAL).await;
    }
}

/// The sum of `field` of `ended` over every sample kept.
async fn total_ended(http: &Http, outcome: &str) -> u64 {
    let body = http.get("/v1/platform").await.json();
    samples(&body)
        .iter()
        .map(|s| s["ended"][outcome].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_show_runs_in_flight_and_the_slots_they_hold() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("nap", sleepy_module(1_500, "rested")).await;
    let naps: Vec<_> = (0..3)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move { http.invoke("nap", "", "").await })
        })
        .collect();
    let busy = wait_for_sample(&http, |s| s["in_flight"]["nap"] == 3).await;
    assert!(
        busy["instance_slots_in_use"].as_u64().unwrap() >= 3,
        "{busy}"
    );
    assert!(busy["instance_slots"].as_u64().unwrap() >= 3, "{busy}");
    let cores = busy["cpu_busy"].as_array().unwrap();
    assert!(!cores.is_empty(), "{busy}");
    assert!(
        cores
            .iter()
            .all(|c| (0.0..=1.0).contains(&c.as_f64().unwrap())),
        "{busy}"
    );
    assert!(busy["rss_bytes"].as_u64().unwrap() > 1 << 20, "{busy}");
    assert!(busy["interval_ns"].as_u64().unwrap() > 0, "{busy}");
    for nap in naps {
        assert_eq!(nap.await.unwrap().text(), "rested");
    }
    let idle = wait_for_sample(&http, |s| s["in_flight"].as_object().unwrap().is_empty()).await;
    assert_eq!(idle["instance_slots_in_use"], 0, "{idle}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_ended_refusals_and_kills_add_up_to_exactly_what_happened() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    http.deploy_with("spin", "timeout_ms=100", loop_module())
        .await;
    http.deploy_with("one", "max_concurrency=1", sleepy_module(500, "done"))
        .await;
    for _ in 0..7 {
        assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
    }
    assert_eq!(
        http.invoke("spin", "", "").await.status,
        StatusCode::GATEWAY_TIMEOUT
    );
    let first = {
        let http = http.clone();
        tokio::spawn(async move { http.invoke("one", "", "").await })
    };
    wait_for_sample(&http, |s| s["in_flight"]["one"] == 1).await;
    assert_eq!(
        http.invoke("one", "", "").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(first.await.unwrap().status, StatusCode::OK);
    // Every interval's counts, summed, are the totals.
    let mut seen = 0;
    wait_for_sample(&http, |s| {
        seen += s["ended"]["ok"].as_u64().unwrap();
        seen == 8
    })
    .await;
    assert_eq!(total_ended(&http, "ok").await, 8);
    assert_eq!(total_ended(&http, "timeout").await, 1);
    let body = http.get("/v1/platform").await.json();
    let kept = samples(&body);
    let sum = |field: &str| -> u64 { kept.iter().map(|s| s[field].as_u64().unwrap()).sum() };
    assert_eq!(sum("kills"), 1, "{body}");
    assert_eq!(sum("rejected"), 1, "{body}");
    let seqs: Vec<u64> = kept.iter().map(|s| s["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_pipelines_pipes_and_the_bytes_waiting_in_them_are_sampled() {
    let server = TestServer::fresh();
    let http = server.http();
    // The first stage never reads: the input waits in its pipe.
    http.deploy("nap", sleepy_module(1_500, "x")).await;
    http.deploy("cat", example("cat")).await;
    let input = vec![b'a'; 10_000];
    let run = {
        let http = http.clone();
        tokio::spawn(async move {
            http.send(
                Method::POST,
                "/v1/pipelines/run?spec=nap%20%7C%20cat",
                input,
            )
            .await
        })
    };
    let busy = wait_for_sample(&http, |s| {
        s["pipe_buffered_bytes"].as_u64().unwrap() >= 10_000
    })
    .await;
    // Input, the edge, and the output.
    assert_eq!(busy["live_pipes"], 3, "{busy}");
    assert_eq!(busy["in_flight"]["nap"], 1, "{busy}");
    assert_eq!(busy["in_flight"]["cat"], 1, "{busy}");
    assert_eq!(run.await.unwrap().text(), "x");
    let done = wait_for_sample(&http, |s| s["live_pipes"] == 0).await;
    assert_eq!(done["pipe_buffered_bytes"], 0, "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_series_is_followed_as_json_lines_and_a_bad_query_is_refused() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::fresh();
    let http = server.http();
    let mut socket = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    socket
        .write_all(b"GET /v1/platform?follow=true HTTP/1.1\r\nhost: faasrt\r\n\r\n")
        .await
        .expect("request");
    let mut seen = Vec::new();
    // Two samples at least: the backlog's or a live one, then a live one.
    read_until(&mut socket, &mut seen, |text| {
        text.matches("\"cpu_busy\"").count() >= 2
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("{\"seq\""))
        .expect("a sample as a line");
    let sample: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
    assert!(sample["time_ns"].as_u64().is_some(), "{sample}");
    for query in ["since=x", "limit=-1", "follow=maybe", "who=1"] {
        let reply = http.get(&format!("/v1/platform?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
    }
}
