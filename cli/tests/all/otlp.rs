//! `faasrt serve --otlp-endpoint`: a URL the exporter cannot send to stops
//! the server before it starts; a receiver that is not there does not.

use crate::cli::{FAASRT, Serve, http_get, stderr};
use std::process::Command;

#[test]
fn serve_refuses_an_otlp_endpoint_it_cannot_send_to_and_says_why() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    for (url, why) in [
        ("https://collector:4318", "only http:// is supported"),
        ("collector:4318", "has no scheme"),
    ] {
        let output = Command::new(FAASRT)
            .args(["serve", "--listen", "127.0.0.1:0", "--otlp-endpoint", url])
            .arg("--data-dir")
            .arg(data_dir.path())
            .output()
            .expect("faasrt runs");
        assert!(!output.status.success(), "{url}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains("--otlp-endpoint"), "{url}: {message}");
        assert!(message.contains(why), "{url}: {message}");
    }
}

#[test]
fn serve_with_an_unreachable_otlp_receiver_still_serves_and_counts() {
    // Nothing listens on port 1 of the loopback address.
    let serve = Serve::start_with(&["--otlp-endpoint", "http://127.0.0.1:1"]);
    assert!(http_get(&serve.url, "/healthz").contains(r#""status":"ok""#));
    let metrics = http_get(&serve.url, "/metrics");
    assert!(
        metrics.contains("faasrt_otlp_export_errors_total"),
        "{metrics}"
    );
}
