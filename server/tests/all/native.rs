//! Native functions: executables run as sandboxed child processes, alone
//! and mixed with wasm stages in pipelines.

use crate::support::{Http, TestServer, example};
use hyper::{Method, StatusCode};

/// Deploys the host's `path` as native function `name`.
async fn deploy_native(http: &Http, name: &str, path: &str, query: &str) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reply = http
        .deploy_with(name, &format!("kind=native{query}"), bytes)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

async fn summary(http: &Http, spec: &str, input: impl Into<bytes::Bytes>) -> serde_json::Value {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("spec", spec)
        .append_pair("summary", "json")
        .finish();
    let reply = http
        .send(Method::POST, &format!("/v1/pipelines/run?{query}"), input)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_function_is_invoked_like_a_wasm_one() {
    let server = TestServer::fresh();
    let http = server.http();
    let info = deploy_native(&http, "cat-host", "/bin/cat", "").await;
    assert_eq!(info["kind"], "native");
    let reply = http.invoke("cat-host", "", "through a process\n").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "through a process\n");
    // Arguments reach it; its exit status is the invocation's.
    let missing = http
        .invoke("cat-host", "?arg=%2Fno%2Fsuch%2Ffile", "")
        .await;
    assert_eq!(missing.status, StatusCode::BAD_GATEWAY);
    assert_eq!(missing.header("x-faasrt-exit-code"), Some("1"));
    assert!(
        missing.json()["error"]["log_tail"]
            .as_str()
            .unwrap()
            .contains("No such file")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_function_sees_no_files_but_shared_libraries() {
    faasrt_testkit::require!(
        faasrt_isolation::landlock_abi().is_some(),
        "FAASRT_EXPECT_LANDLOCK",
        "no Landlock in this kernel"
    );
    let server = TestServer::fresh();
    let http = server.http();
    deploy_native(&http, "cat-host", "/bin/cat", "").await;
    for file in ["%2Fetc%2Fpasswd", "%2Fetc%2Fhostname"] {
        let reply = http.invoke("cat-host", &format!("?arg={file}"), "").await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{file}: {}",
            reply.text()
        );
        let log = reply.json()["error"]["log_tail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(log.contains("Permission denied"), "{file}: {log}");
    }
    // It still starts (its shared libraries are readable) and works on its
    // own input.
    assert_eq!(http.invoke("cat-host", "", "fine").await.text(), "fine");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_function_sees_an_empty_environment() {
    let server = TestServer::fresh();
    let http = server.http();
    deploy_native(&http, "env", "/usr/bin/env", "").await;
    let reply = http.invoke("env", "", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "", "the host's environment leaked in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_function_cannot_open_a_socket() {
    faasrt_testkit::require!(
        std::path::Path::new("/usr/bin/python3").exists(),
        "FAASRT_EXPECT_PYTHON",
        "no /usr/bin/python3 to try a socket with"
    );
    let server = TestServer::fresh();
    let http = server.http();
    deploy_native(&http, "py", "/usr/bin/python3", "").await;
    let reply = http
        .invoke("py", "?arg=-c&arg=import%20socket%3B%20socket.socket()", "")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text());
    let log = reply.json()["error"]["log_tail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(log.contains("Operation not permitted"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_function_past_its_timeout_is_killed_with_its_children() {
    let server = TestServer::fresh();
    let http = server.http();
    deploy_native(&http, "sleep", "/bin/sleep", "&timeout_ms=300&arg=30").await;
    let started = std::time::Instant::now();
    let reply = http.invoke("sleep", "", "").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn wasm_and_native_stages_mix_in_one_pipeline() {
    let server = TestServer::fresh();
    let http = server.http();
    for name in ["cat", "grep", "head", "yes"] {
        http.deploy(name, example(name)).await;
    }
    deploy_native(&http, "cat-host", "/bin/cat", "").await;
    deploy_native(&http, "wc-host", "/usr/bin/wc", "").await;
    deploy_native(&http, "yes-host", "/usr/bin/yes", "").await;
    let input: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    let result = summary(&http, "cat-host | grep 7 | cat | wc-host -l", input).await;
    let expected = std::process::Command::new("sh")
        .args(["-c", "seq 1 200000 | grep 7 | wc -l"])
        .output()
        .expect("sh");
    assert_eq!(
        result["output"].as_str().unwrap(),
        String::from_utf8_lossy(&expected.stdout).trim_start()
    );
    assert_eq!(result["pipestatus"], serde_json::json!([0, 0, 0, 0]));
    // A native producer that never ends is stopped by a wasm consumer's exit
    // (SIGPIPE: 128 + 13), and the other way round.
    let result = summary(&http, "yes-host | cat-host | head -n 3", "").await;
    assert_eq!(result["output"], "y\ny\ny\n");
    assert_eq!(result["stages"][2]["exit_code"], 0);
    let result = summary(&http, "yes | cat-host | head -n 2", "").await;
    assert_eq!(result["output"], "y\ny\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn adjacent_native_stages_are_joined_by_os_pipes() {
    let server = TestServer::fresh();
    let http = server.http();
    deploy_native(&http, "cat-host", "/bin/cat", "").await;
    deploy_native(&http, "wc-host", "/usr/bin/wc", "").await;
    deploy_native(&http, "yes-host", "/usr/bin/yes", "").await;
    deploy_native(&http, "head-host", "/usr/bin/head", "").await;
    let input: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    let result = summary(&http, "cat-host | cat-host | wc-host -c", input.clone()).await;
    assert_eq!(result["output"], format!("{}\n", input.len()));
    assert_eq!(result["pipestatus"], serde_json::json!([0, 0, 0]));
    // Every byte is counted on both sides of each spliced edge.
    for (stage, field) in [
        (0, "bytes_out"),
        (1, "bytes_in"),
        (1, "bytes_out"),
        (2, "bytes_in"),
    ] {
        assert_eq!(
            result["stages"][stage][field],
            input.len() as u64,
            "stage {stage} {field}: {result}"
        );
    }
    // Early exit at the end of an all-native chain: the others die of
    // SIGPIPE (128 + 13), as in a shell.
    let result = summary(&http, "yes-host | cat-host | head-host -n 3", "").await;
    assert_eq!(result["output"], "y\ny\ny\n");
    assert_eq!(result["pipestatus"], serde_json::json!([141, 141, 0]));
    let metrics = http.get("/metrics").await.text();
    assert!(
        metrics.contains("faasrt_pipeline_spliced_edges_total 4"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_executables_are_refused_and_natives_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path());
        let http = server.http();
        let reply = http
            .deploy_with("bad", "kind=native", "#!/bin/sh\necho hi\n")
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_executable");
        let wasm_as_native = http.deploy_with("bad", "kind=native", example("cat")).await;
        assert_eq!(wasm_as_native.error_code(), "invalid_executable");
        deploy_native(&http, "cat-host", "/bin/cat", "").await;
        server.stop();
    }
    let server = TestServer::start(dir.path());
    let http = server.http();
    assert_eq!(
        http.invoke("cat-host", "", "still here").await.text(),
        "still here"
    );
    assert_eq!(
        http.get("/v1/functions/bad").await.status,
        StatusCode::NOT_FOUND
    );
}
