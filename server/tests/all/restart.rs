//! A restarted server serves every function it had, without re-deploying.

use crate::support::{TestServer, counter_module, example, stored_fields};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn functions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let server = TestServer::start(dir.path());
        let http = server.http();
        http.deploy("hello", example("hello")).await;
        http.deploy("counter", counter_module()).await;
        http.deploy("gone", example("cat")).await;
        http.delete("gone").await;
        let listing = listing_as_stored(&http).await;
        server.stop();
        listing
    };
    let server = TestServer::start(dir.path());
    let http = server.http();
    assert_eq!(listing_as_stored(&http).await, before);
    assert_eq!(
        http.invoke("hello", "?arg=again", "").await.text(),
        "Hello, again!\n"
    );
    assert_eq!(http.invoke("counter", "", "").await.text(), "1");
    assert_eq!(
        http.get("/v1/functions/gone").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The functions listed, without what changes with the pages in memory.
async fn listing_as_stored(http: &crate::support::Http) -> Vec<serde_json::Value> {
    let listing = http.get("/v1/functions").await.json();
    listing["functions"]
        .as_array()
        .expect("a functions array")
        .iter()
        .map(stored_fields)
        .collect()
}
