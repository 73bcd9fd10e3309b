//! What the journal observes of each run besides its times: when its
//! instance was ready, its CPU time, its peak memory, and for pipelines
//! every stage with its run, its edges and the caller's trace.

use crate::support::{TestServer, example, wat};
use hyper::{Method, StatusCode};

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
        assert!(
            at("start_ns") <= at("ready_ns") && at("ready_ns") <= at("end_ns"),
            "{record}"
        );
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
    assert!(
        at("start_ns") <= at("ready_ns") && at("ready_ns") <= at("end_ns"),
        "{record}"
    );
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
        assert!(
            record["arrival_ns"].as_u64() <= record["start_ns"].as_u64(),
            "{record}"
        );
        assert!(
            record["start_ns"].as_u64() <= record["end_ns"].as_u64(),
            "{record}"
        );
    }
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
