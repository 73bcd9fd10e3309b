//! Every bad input gets a clear error and changes nothing.

use crate::support::{Http, TEST_MAX_BODY, TestServer, example, stored_fields, wat};
use hyper::StatusCode;

/// Deploys `body` as `name`, expects `status` and `code`, and checks that
/// the store and the server are unchanged (only `hello` is deployed and it
/// still answers).
async fn refused(
    http: &Http,
    name: &str,
    body: Vec<u8>,
    status: StatusCode,
    code: &str,
) -> serde_json::Value {
    let reply = http.deploy(name, body).await;
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.error_code(), code, "{}", reply.text());
    assert!(
        !reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let listing = http.get("/v1/functions").await.json();
    let names: Vec<_> = listing["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(
        names,
        [serde_json::json!("hello")],
        "a failed deploy left something behind"
    );
    assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
    reply.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_modules_are_refused_and_leave_nothing() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("hello", example("hello")).await.status,
        StatusCode::CREATED
    );

    refused(
        &http,
        "f",
        b"#!/bin/sh\necho hi\n".to_vec(),
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;
    refused(
        &http,
        "f",
        Vec::new(),
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;
    let hello = example("hello");
    refused(
        &http,
        "f",
        hello[..hello.len() / 2].to_vec(),
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;
    // Well-formed binary that fails validation: i32.add with one operand.
    let invalid = wat(r#"(module (func (export "_start") (drop (i32.add (i32.const 1)))))"#);
    refused(
        &http,
        "f",
        invalid,
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;
    // The text format is not a module either.
    refused(
        &http,
        "f",
        br#"(module (func (export "_start")))"#.to_vec(),
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;

    let imports = wat(r#"(module
        (import "env" "open_socket" (func))
        (import "wasi_snapshot_preview1" "sock_open_any" (func))
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (func (export "_start")))"#);
    let error = refused(
        &http,
        "f",
        imports,
        StatusCode::BAD_REQUEST,
        "unknown_imports",
    )
    .await;
    assert_eq!(
        error["error"]["imports"],
        serde_json::json!(["env::open_socket", "wasi_snapshot_preview1::sock_open_any"])
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("env::open_socket")
    );

    let no_start = wat(r#"(module (func (export "main")))"#);
    refused(
        &http,
        "f",
        no_start,
        StatusCode::BAD_REQUEST,
        "missing_entry_point",
    )
    .await;
    let wrong_start = wat(r#"(module (func (export "_start") (param i32)))"#);
    refused(
        &http,
        "f",
        wrong_start,
        StatusCode::BAD_REQUEST,
        "missing_entry_point",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_redeploy_keeps_the_old_version() {
    let server = TestServer::fresh();
    let http = server.http();
    let first = http.deploy("hello", example("hello")).await.json();
    refused(
        &http,
        "hello",
        b"garbage".to_vec(),
        StatusCode::BAD_REQUEST,
        "invalid_module",
    )
    .await;
    assert_eq!(
        stored_fields(&http.get("/v1/functions/hello").await.json()),
        first
    );
    assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_are_413() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    let huge = vec![0u8; TEST_MAX_BODY + 1];
    refused(
        &http,
        "big",
        huge.clone(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let invoke = http.invoke("hello", "", huge).await;
    assert_eq!(invoke.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(invoke.error_code(), "payload_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_names_are_400() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    let long = "a".repeat(64);
    // Upper case, a leading dash, percent-encoded bad UTF-8, a dot, too long.
    for name in ["Hello", "-x", "%FF%FE", "a.b", long.as_str(), "a%2Fb"] {
        let reply = refused(
            &http,
            name,
            example("cat").to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        )
        .await;
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("invalid function name")
        );
        let invoke = http.invoke(name, "", "").await;
        assert_eq!(invoke.status, StatusCode::BAD_REQUEST, "invoke {name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_limits_are_400() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    for query in [
        "timeout_ms=0",
        "memory_mb=0",
        "memory_mb=99999999",
        "timeout_ms=soon",
        "color=red",
    ] {
        let reply = http.deploy_with("f", query, example("cat")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text()
        );
        assert!(["invalid_limit", "invalid_query"].contains(&reply.error_code().as_str()));
    }
    assert_eq!(
        http.get("/v1/functions/f").await.status,
        StatusCode::NOT_FOUND
    );
}
