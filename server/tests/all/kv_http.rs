//! A function's key-value state over HTTP: the `/v1/functions/{name}/kv`
//! routes, the token they need even to read, keys of any bytes in the
//! path, paging, quotas from the deploy's query, and the error codes.

use crate::support::{TestServer, example};
use hyper::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread")]
async fn state_written_by_invocations_is_read_listed_and_edited_over_http() {
    let server = TestServer::fresh();
    let http = server.http();
    let deployed = http
        .deploy_with(
            "counter",
            "kv_max_keys=3&kv_max_bytes=1000",
            example("counter"),
        )
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text());
    assert_eq!(deployed.json()["limits"]["kv_max_keys"], 3);
    let ran = http.invoke("counter", "", "ann\nbob\nann\n").await;
    assert_eq!(ran.text(), "ann 1\nbob 1\nann 2\n");

    // Reading state needs the token, like any write.
    let anonymous = http.anonymous();
    assert_eq!(
        anonymous.get("/v1/functions/counter/kv").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous
            .get("/v1/functions/counter/kv/count%2Fann")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let value = http.get("/v1/functions/counter/kv/count%2Fann").await;
    assert_eq!(value.status, StatusCode::OK);
    assert_eq!(value.text(), "2");
    let listed = http
        .get("/v1/functions/counter/kv?prefix=count%2F")
        .await
        .json();
    assert_eq!(listed["keys"][0]["key"], "count/ann");
    assert_eq!(listed["keys"][1]["key_hex"], hex("count/bob"));
    assert_eq!(listed["keys"][0]["value_bytes"], 1);
    assert_eq!(listed["usage"]["keys"], 2);
    assert_eq!(listed["quota"]["max_keys"], 3);
    assert_eq!(listed["more"], false);

    // An operator sets a count; the next invocation goes on from it.
    let put = http
        .send(Method::PUT, "/v1/functions/counter/kv/count%2Fann", "41")
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(put.json()["usage"]["keys"], 2);
    assert_eq!(http.invoke("counter", "", "ann\n").await.text(), "ann 42\n");

    // Keys are bytes: one that is not text is written and paged by hex.
    let odd = http
        .send(Method::PUT, "/v1/functions/counter/kv/%FF%00", "x")
        .await;
    assert_eq!(odd.status, StatusCode::OK, "{}", odd.text());
    let first = http.get("/v1/functions/counter/kv?limit=1").await.json();
    assert_eq!(first["keys"].as_array().unwrap().len(), 1);
    assert_eq!(first["more"], true);
    let after = first["keys"][0]["key_hex"].as_str().unwrap().to_owned();
    let rest = http
        .get(&format!("/v1/functions/counter/kv?after_hex={after}"))
        .await
        .json();
    let rest: Vec<&str> = rest["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_hex"].as_str().unwrap())
        .collect();
    assert_eq!(rest, [hex("count/bob").as_str(), "ff00"]);

    // The quota: a fourth key is refused with 507 and nothing written.
    let over = http
        .send(Method::PUT, "/v1/functions/counter/kv/four", "4")
        .await;
    assert_eq!(over.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(over.error_code(), "kv_quota_exceeded");
    assert_eq!(
        http.get("/v1/functions/counter/kv/four").await.error_code(),
        "key_not_found"
    );

    let deleted = http.delete_path("/v1/functions/counter/kv/%FF%00").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.json()["usage"]["keys"], 2);
    let again = http.delete_path("/v1/functions/counter/kv/%FF%00").await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "deleting a missing key is no error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_kv_requests_get_clear_errors() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("counter", example("counter")).await;
    let cases = [
        (
            Method::GET,
            "/v1/functions/nope/kv".to_owned(),
            "",
            StatusCode::NOT_FOUND,
            "function_not_found",
        ),
        (
            Method::GET,
            "/v1/functions/counter/kv/missing".to_owned(),
            "",
            StatusCode::NOT_FOUND,
            "key_not_found",
        ),
        (
            Method::GET,
            "/v1/functions/counter/kv?page=2".to_owned(),
            "",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/functions/counter/kv?after_hex=zz".to_owned(),
            "",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::POST,
            "/v1/functions/counter/kv/k".to_owned(),
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            format!("/v1/functions/counter/kv/{}", "k".repeat(1025)),
            "v",
            StatusCode::BAD_REQUEST,
            "invalid_key",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let reply = http.send(method.clone(), &path, body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
        assert_eq!(reply.error_code(), code, "{method} {path}");
    }
    let big = vec![b'v'; (1 << 20) + 1];
    let reply = http
        .send(Method::PUT, "/v1/functions/counter/kv/k", big)
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let listed = http.get("/v1/functions/counter/kv").await.json();
    assert_eq!(listed["usage"]["keys"], 0, "nothing refused was stored");
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
