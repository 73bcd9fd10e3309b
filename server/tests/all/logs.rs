//! `GET /v1/functions/{name}/logs`: each function's recent logs, one entry
//! per invocation that wrote to its log, behind the token, and followed
//! live as JSON lines.

use crate::support::{TestServer, log_echo_module, read_until};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn each_invocations_log_is_kept_under_its_number() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("echo", log_echo_module()).await;
    http.deploy("other", log_echo_module()).await;
    let mut numbers = Vec::new();
    for line in ["first line\n", "second line\n"] {
        let reply = http.invoke("echo", "", line).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.text(), "", "the log is not the output");
        let number: u64 = reply
            .header("x-faasrt-invocation")
            .expect("the invocation's number")
            .parse()
            .unwrap();
        numbers.push(number);
    }
    http.invoke("other", "", "not echo's\n").await;
    // Wrote nothing to its log: no entry.
    http.invoke("echo", "", "").await;

    let body = http.get("/v1/functions/echo/logs").await.json();
    let logs = body["logs"].as_array().expect("logs").clone();
    assert_eq!(logs.len(), 2, "{body}");
    assert_eq!(logs[0]["log"], "first line\n");
    assert_eq!(logs[1]["log"], "second line\n");
    assert_eq!(logs[0]["invocation"], numbers[0]);
    assert_eq!(logs[1]["invocation"], numbers[1]);
    assert_eq!(logs[0]["outcome"], "ok");
    assert_eq!(body["next"], numbers[1]);

    // The number joins the journal.
    let journal = http
        .get(&format!("/v1/invocations?since={}&limit=1", numbers[0] - 1))
        .await
        .json();
    assert_eq!(journal["invocations"][0]["seq"], numbers[0]);
    assert_eq!(journal["invocations"][0]["function"], "echo");

    let one = http
        .get(&format!(
            "/v1/functions/echo/logs?invocation={}",
            numbers[1]
        ))
        .await
        .json();
    assert_eq!(one["logs"].as_array().unwrap().len(), 1);
    assert_eq!(one["logs"][0]["log"], "second line\n");
    let after = http
        .get(&format!("/v1/functions/echo/logs?since={}", numbers[0]))
        .await
        .json();
    assert_eq!(after["logs"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_need_the_token_and_a_deployed_function() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("echo", log_echo_module()).await;
    let number = http.invoke("echo", "", "secret\n").await;
    let number = number.header("x-faasrt-invocation").unwrap().to_owned();
    let anonymous = http.anonymous().get("/v1/functions/echo/logs").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(!anonymous.text().contains("secret"));

    let missing = http.get("/v1/functions/nobody/logs").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let not_kept = http.get("/v1/functions/echo/logs?invocation=999999").await;
    assert_eq!(not_kept.status, StatusCode::NOT_FOUND);
    assert_eq!(not_kept.error_code(), "log_not_found");
    let both = http
        .get(&format!(
            "/v1/functions/echo/logs?invocation={number}&follow=1"
        ))
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        http.get("/v1/functions/echo/logs?tail=1").await.status,
        StatusCode::BAD_REQUEST
    );

    // Removing the function removes its logs; a new one of the same name
    // starts without them.
    assert_eq!(http.delete("echo").await.status, StatusCode::OK);
    assert_eq!(
        http.get("/v1/functions/echo/logs").await.status,
        StatusCode::NOT_FOUND
    );
    http.deploy("echo", log_echo_module()).await;
    let fresh = http.get("/v1/functions/echo/logs").await.json();
    assert_eq!(fresh["logs"].as_array().unwrap().len(), 0, "{fresh}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_gets_kept_logs_then_each_new_one_of_its_function() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("echo", log_echo_module()).await;
    http.deploy("other", log_echo_module()).await;
    http.invoke("echo", "", "kept before\n").await;
    let mut socket = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET /v1/functions/echo/logs?follow=1 HTTP/1.1\r\nhost: faasrt\r\n\
         authorization: Bearer {}\r\n\r\n",
        server.token
    );
    socket.write_all(request.as_bytes()).await.expect("request");
    let mut seen = Vec::new();
    read_until(&mut socket, &mut seen, |text| text.contains("kept before")).await;
    http.invoke("other", "", "not for this follower\n").await;
    http.invoke("echo", "", "live line\n").await;
    read_until(&mut socket, &mut seen, |text| text.contains("live line")).await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.to_lowercase().starts_with("http/1.1 200"), "{text}");
    assert!(!text.contains("not for this follower"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("live line"))
        .expect("the entry as a line");
    let entry: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
    assert_eq!(entry["function"], "echo");
    assert_eq!(entry["log"], "live line\n");
}
