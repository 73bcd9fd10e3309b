//! Pipelines over HTTP (ad hoc and named) and through `faasrt pipe`.

use crate::support::{TestServer, example, shell};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn seq(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

async fn deploy_examples(server: &TestServer) {
    let http = server.http();
    for name in ["cat", "grep", "wc", "head", "upper", "yes"] {
        assert_eq!(
            http.deploy(name, example(name)).await.status,
            StatusCode::CREATED
        );
    }
}

/// Streams `input` to `path` asking for trailers; returns the body and the
/// trailers.
async fn post_with_trailers(
    server: &TestServer,
    path: &str,
    input: String,
) -> (StatusCode, Vec<u8>, Option<hyper::HeaderMap>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{}{path}", server.addr))
        .header("te", "trailers")
        .body(Full::new(Bytes::from(input)))
        .expect("request");
    let response = client.request(request).await.expect("answer");
    let status = response.status();
    let mut body = response.into_body();
    let mut output = Vec::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("frame");
        match frame.into_data() {
            Ok(data) => output.extend_from_slice(&data),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    (status, output, trailers)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ad_hoc_pipeline_streams_its_output_and_ends_with_its_statuses() {
    let server = TestServer::fresh();
    deploy_examples(&server).await;
    let (status, output, trailers) = post_with_trailers(
        &server,
        "/v1/pipelines/run?spec=grep%207%20%7C%20wc%20-l",
        seq(200_000),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(output).unwrap(),
        shell("seq 1 200000 | grep 7 | wc -l").trim_start()
    );
    let trailers = trailers.expect("statuses come as trailers");
    assert_eq!(trailers["x-faasrt-pipestatus"], "0 0");
    assert_eq!(trailers["x-faasrt-exit-code"], "0");

    // The status of a failing last stage: grep without a match.
    let (_, output, trailers) = post_with_trailers(
        &server,
        "/v1/pipelines/run?spec=cat%20%7C%20grep%20zebra",
        seq(10),
    )
    .await;
    assert!(output.is_empty());
    assert_eq!(trailers.expect("trailers")["x-faasrt-pipestatus"], "0 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_summary_carries_output_and_every_stage() {
    let server = TestServer::fresh();
    deploy_examples(&server).await;
    let http = server.http();
    let reply = http
        .send(
            Method::POST,
            "/v1/pipelines/run?spec=yes%20%7C%20head%20-n%203&summary=json",
            "",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let summary = reply.json();
    assert_eq!(summary["output"], "y\ny\ny\n");
    assert_eq!(summary["pipestatus"], serde_json::json!([32, 0]));
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["stages"][1]["function"], "head");
    assert_eq!(summary["stages"][1]["bytes_out"], 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_specs_are_400_and_name_the_problem() {
    let server = TestServer::fresh();
    deploy_examples(&server).await;
    let http = server.http();
    for (query, problem) in [
        (
            "spec=cat%20%7C%20nope",
            "stage 2: function \"nope\" is not deployed",
        ),
        ("spec=cat%20%7C%20%7C%20wc", "stage 2 is empty"),
        ("spec=grep%20'open", "unterminated single quote"),
        ("spec=", "empty"),
        ("", "spec query parameter is required"),
    ] {
        let reply = http
            .send(Method::POST, &format!("/v1/pipelines/run?{query}"), "input")
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(problem), "{query}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn named_pipelines_are_stored_run_and_removed() {
    let server = TestServer::fresh();
    deploy_examples(&server).await;
    let http = server.http();
    let spec = r#"{"stages": [{"function": "grep", "args": ["error"]}, {"function": "wc", "args": ["-l"]}]}"#;
    assert_eq!(
        http.anonymous()
            .send(Method::PUT, "/v1/pipelines/errors", spec)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let put = http.send(Method::PUT, "/v1/pipelines/errors", spec).await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.text());
    assert_eq!(put.json()["spec"], "grep error | wc -l");
    assert_eq!(
        http.get("/v1/pipelines").await.json()["pipelines"][0]["name"],
        "errors"
    );
    let reply = http
        .send(
            Method::POST,
            "/v1/pipelines/errors/invoke?summary=json",
            "ok\nerror 1\nerror 2\n",
        )
        .await;
    assert_eq!(reply.json()["output"], "2\n");
    let malformed = http.send(Method::PUT, "/v1/pipelines/bad", "{").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        http.delete_path("/v1/pipelines/errors").await.status,
        StatusCode::OK
    );
    let gone = http
        .send(Method::POST, "/v1/pipelines/errors/invoke", "")
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_code(), "pipeline_not_found");
}
