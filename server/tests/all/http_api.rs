//! The HTTP API end to end: deploy, invoke, list, get, remove, redeploy,
//! auth, health and metrics.

use crate::support::{TestServer, example};
use hyper::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread")]
async fn deploy_invoke_list_get_remove() {
    let server = TestServer::fresh();
    let http = server.http();

    let deployed = http.deploy("hello", example("hello")).await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text());
    let info = deployed.json();
    assert_eq!(info["name"], "hello");
    assert_eq!(info["size"], example("hello").len());
    assert!(info["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(info["deployed_at"].as_str().unwrap().ends_with('Z'));

    let reply = http.invoke("hello", "?arg=faasrt", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "Hello, faasrt!\n");
    assert_eq!(reply.header("x-faasrt-exit-code"), Some("0"));
    let micros: u64 = reply
        .header("x-faasrt-duration-us")
        .unwrap()
        .parse()
        .unwrap();
    assert!(micros > 0);

    let listing = http.get("/v1/functions").await;
    assert_eq!(listing.status, StatusCode::OK);
    let names: Vec<_> = listing.json()["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["hello"]);

    let got = http.get("/v1/functions/hello").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["digest"], info["digest"]);

    let removed = http.delete("hello").await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(
        http.get("/v1/functions/hello").await.status,
        StatusCode::NOT_FOUND
    );
    let gone = http.invoke("hello", "", "").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_code(), "function_not_found");
    assert_eq!(http.delete("hello").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn input_flows_through_faasin_and_faasout() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("upper", example("upper")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        http.deploy("wc", example("wc")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        http.deploy("grep", example("grep")).await.status,
        StatusCode::CREATED
    );

    assert_eq!(
        http.invoke("upper", "", "shout, please").await.text(),
        "SHOUT, PLEASE"
    );
    let counted = http.invoke("wc", "?arg=-l", "a\nb\nc\n").await;
    assert_eq!(counted.text(), "3\n");
    let matched = http
        .invoke("grep", "?arg=error", "ok\nan error\nfine\nerror 2\n")
        .await;
    assert_eq!(matched.text(), "an error\nerror 2\n");
    // Arguments are URL-decoded: a space and an ampersand reach the guest.
    let spaced = http
        .invoke("grep", "?arg=a%20%26b", "x a &b y\nnone\n")
        .await;
    assert_eq!(spaced.text(), "x a &b y\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_args_come_before_invocation_args() {
    let server = TestServer::fresh();
    let http = server.http();
    let reply = http
        .deploy_with("errors", "arg=error", example("grep"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["args"], serde_json::json!(["error"]));
    assert_eq!(
        http.invoke("errors", "", "error one\nfine\n").await.text(),
        "error one\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redeploy_replaces_the_function() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("f", example("upper")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(http.invoke("f", "", "abc").await.text(), "ABC");
    let second = http.deploy("f", example("cat")).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(http.invoke("f", "", "abc").await.text(), "abc");
    let listing = http.get("/v1/functions").await.json();
    assert_eq!(listing["functions"].as_array().unwrap().len(), 1);
    assert_eq!(listing["functions"][0]["digest"], second.json()["digest"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn management_needs_the_token_and_reads_do_not() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("hello", example("hello")).await.status,
        StatusCode::CREATED
    );

    for client in [http.anonymous(), http.with_token("wrong")] {
        let put = client.deploy("other", example("cat")).await;
        assert_eq!(put.status, StatusCode::UNAUTHORIZED);
        assert_eq!(put.error_code(), "unauthorized");
        assert_eq!(put.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            client.delete("hello").await.status,
            StatusCode::UNAUTHORIZED
        );
        // Reads and invocations stay open.
        assert_eq!(client.get("/v1/functions").await.status, StatusCode::OK);
        assert_eq!(client.invoke("hello", "", "").await.status, StatusCode::OK);
    }
    // Nothing the refused calls asked for happened.
    assert_eq!(
        http.get("/v1/functions/other").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(http.get("/v1/functions/hello").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_all_closes_reads_and_invocations() {
    let server = TestServer::fresh_with(|c| c, true);
    let http = server.http();
    assert_eq!(
        http.deploy("hello", example("hello")).await.status,
        StatusCode::CREATED
    );
    let anonymous = http.anonymous();
    assert_eq!(
        anonymous.get("/v1/functions").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous.invoke("hello", "", "").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous.get("/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(anonymous.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path());
    let path = dir.path().join("token");
    let mode = std::fs::metadata(&path)
        .expect("token exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), server.token);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_metrics() {
    let server = TestServer::fresh();
    let http = server.http();
    let health = http.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");

    http.deploy("hello", example("hello")).await;
    http.deploy("trap", crate::support::trap_module()).await;
    for _ in 0..3 {
        http.invoke("hello", "", "").await;
    }
    http.invoke("trap", "", "").await;
    let metrics = http.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text();
    assert!(
        text.contains(r#"faasrt_invocations_total{function="hello",outcome="ok"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"faasrt_invocation_errors_total{function="trap",outcome="trap"} 1"#));
    assert!(text.contains(r#"faasrt_invocation_duration_seconds_count{function="hello"} 3"#));
    assert!(text.contains("faasrt_functions 2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_are_json_errors() {
    let server = TestServer::fresh();
    let http = server.http();
    let missing = http.get("/v2/nothing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "route_not_found");
    let wrong = http.send(Method::POST, "/v1/functions", "").await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET"));
    let get_invoke = http.get("/v1/functions/hello/invoke").await;
    assert_eq!(get_invoke.status, StatusCode::METHOD_NOT_ALLOWED);
    let bad_query = http.invoke("hello", "?args=x", "").await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_query.error_code(), "invalid_query");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_health_lists_the_isolation_mechanisms() {
    let server = TestServer::fresh();
    let health = server.http().anonymous().get("/healthz?verbose=1").await;
    assert_eq!(health.status, StatusCode::OK);
    let body = health.json();
    assert_eq!(body["status"], "ok");
    let names: Vec<_> = body["mechanisms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "seccomp",
        "pkeys",
        "cgroup-v2",
        "user-namespaces",
        "address-space",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}
