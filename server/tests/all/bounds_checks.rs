//! Bounds checks per function: `explicit` (the default) or `guard-pages`,
//! chosen at deploy over HTTP, kept across restarts, refused when bad.

use crate::support::{TestServer, example};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn a_guard_pages_function_reloads_from_its_artifact_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path());
        let http = server.http();
        let reply = http
            .deploy_with("guarded", "bounds_checks=guard-pages", example("hello"))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        assert_eq!(reply.json()["bounds_checks"], "guard-pages");
        http.deploy("plain", example("hello")).await;
        server.stop();
    }
    let server = TestServer::start(dir.path());
    let http = server.http();
    let metrics = http.get("/metrics").await.text();
    // Both artifacts survived the start's garbage collection and loaded.
    assert!(
        metrics.contains("faasrt_artifact_loads_total 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("faasrt_compilations_total{"), "{metrics}");
    assert_eq!(
        http.get("/v1/functions/guarded").await.json()["bounds_checks"],
        "guard-pages"
    );
    assert_eq!(
        http.get("/v1/functions/plain").await.json()["bounds_checks"],
        "explicit"
    );
    for name in ["guarded", "plain"] {
        assert_eq!(http.invoke(name, "", "").await.text(), "Hello, world!\n");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_bounds_checks_value_or_a_native_one_is_refused() {
    let server = TestServer::fresh();
    let http = server.http();
    let reply = http
        .deploy_with("f", "bounds_checks=none", example("hello"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.text().contains("explicit or guard-pages"),
        "{}",
        reply.text()
    );
    let reply = http
        .deploy_with("f", "kind=native&bounds_checks=explicit", &b"\x7fELF"[..])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.text().contains("wasm functions only"),
        "{}",
        reply.text()
    );
    assert_eq!(
        http.get("/v1/functions/f").await.status,
        StatusCode::NOT_FOUND
    );
}
