//! What each deployed function keeps in memory: `resident_bytes` in
//! `GET /v1/functions[/{name}]` and `faasrt_function_resident_bytes` in
//! `/metrics`, for wasm and native functions, across redeploys, removes and
//! a restart.

use crate::support::{Http, TestServer, example};
use hyper::StatusCode;

async fn resident(http: &Http, name: &str) -> u64 {
    let reply = http.get(&format!("/v1/functions/{name}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["resident_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}: no resident_bytes in {}", reply.text()))
}

/// The value of `faasrt_function_resident_bytes{function="name"}`, if the
/// metric has that series.
async fn metric(http: &Http, name: &str) -> Option<u64> {
    let text = http.get("/metrics").await.text();
    let series = format!("faasrt_function_resident_bytes{{function=\"{name}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|value| value.trim().parse().expect("a gauge value"))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_function_reports_what_it_keeps_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat_size = std::fs::metadata("/bin/cat").expect("/bin/cat").len();
    {
        let server = TestServer::start(dir.path());
        let http = server.http();
        http.deploy("hello", example("hello")).await;
        let native = http
            .deploy_with(
                "cat-host",
                "kind=native",
                std::fs::read("/bin/cat").unwrap(),
            )
            .await;
        assert_eq!(native.status, StatusCode::CREATED, "{}", native.text());
        assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");

        let hello = resident(&http, "hello").await;
        assert!(
            hello >= 4096,
            "an invoked module has pages in memory: {hello}"
        );
        assert!(hello < 64 << 20, "hello is a small module: {hello}");
        // A native function holds its whole executable, and not much more.
        let cat = resident(&http, "cat-host").await;
        assert!(
            cat >= cat_size && cat < cat_size + (1 << 20),
            "{cat} for {cat_size}"
        );

        // The listing and the metrics say the same per function.
        let listing = http.get("/v1/functions").await.json();
        for function in listing["functions"].as_array().unwrap() {
            assert!(function["resident_bytes"].as_u64().is_some(), "{function}");
        }
        assert_eq!(metric(&http, "cat-host").await, Some(cat));
        assert!(
            metric(&http, "hello")
                .await
                .is_some_and(|bytes| bytes >= 4096)
        );

        // A removed function leaves the metrics; the others stay.
        http.delete("cat-host").await;
        assert_eq!(metric(&http, "cat-host").await, None);
        assert!(metric(&http, "hello").await.is_some());
        server.stop();
    }
    // A restarted server maps the artifact again and reports it.
    let server = TestServer::start(dir.path());
    let http = server.http();
    assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
    assert!(resident(&http, "hello").await >= 4096);
    assert_eq!(
        http.get("/v1/functions/cat-host").await.status,
        StatusCode::NOT_FOUND
    );
}
