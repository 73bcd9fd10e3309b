//! How invocations end, and that they are isolated from each other.

use crate::support::{
    TestServer, counter_module, example, exit_module, flood_module, loop_module, trap_module,
};
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn no_state_survives_between_invocations() {
    let server = TestServer::fresh();
    let http = server.http();
    assert_eq!(
        http.deploy("counter", counter_module()).await.status,
        StatusCode::CREATED
    );
    for _ in 0..5 {
        // A leaked global or memory would print 2, 3, ... (or other bytes).
        assert_eq!(http.invoke("counter", "", "").await.text(), "1");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn non_zero_exit_is_a_502_with_code_and_log_tail() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("fails", exit_module(3, "disk on fire")).await;
    let reply = http.invoke("fails", "", "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.header("x-faasrt-exit-code"), Some("3"));
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "function_exit");
    assert_eq!(error["exit_code"], 3);
    assert_eq!(error["log_tail"], "disk on fire");
    // proc_exit(0) is success, like returning from _start.
    http.deploy("quits", exit_module(0, "bye")).await;
    assert_eq!(http.invoke("quits", "", "").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_is_an_error_for_that_invocation_only() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("trap", trap_module()).await;
    http.deploy("hello", example("hello")).await;
    let reply = http.invoke("trap", "", "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.error_code(), "function_trap");
    assert!(
        reply.json()["error"]["trap"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    assert_eq!(reply.header("x-faasrt-exit-code"), Some("134"));
    assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
    assert_eq!(
        http.invoke("trap", "", "").await.status,
        StatusCode::BAD_GATEWAY
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_past_its_timeout_is_stopped_with_504() {
    let server = TestServer::fresh();
    let http = server.http();
    let deployed = http
        .deploy_with("spin", "timeout_ms=200", loop_module())
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED);
    assert_eq!(deployed.json()["limits"]["timeout_ms"], 200);
    http.deploy("hello", example("hello")).await;
    // While it spins, the server still answers others promptly.
    let (spun, hello) = tokio::join!(http.invoke("spin", "", ""), async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        http.invoke("hello", "?arg=you", "").await
    });
    assert_eq!(hello.text(), "Hello, you!\n");
    assert_eq!(spun.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(spun.error_code(), "timeout");
    let took: u64 = spun
        .header("x-faasrt-duration-us")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        took >= 200_000,
        "stopped after {took} us, before its timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn output_past_the_limit_ends_the_invocation() {
    let server = TestServer::fresh_with(|c| c.max_output_bytes(1 << 20), false);
    let http = server.http();
    http.deploy("flood", flood_module()).await;
    let reply = http.invoke("flood", "", "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.error_code(), "output_too_large");
    // Output up to the limit is allowed: a 1 MiB cat passes.
    http.deploy("cat", example("cat")).await;
    let exactly = vec![b'x'; 1 << 20];
    assert_eq!(
        http.invoke("cat", "", exactly.clone()).await.body.len(),
        exactly.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_concurrent_invocations_all_answer_right() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("upper", example("upper")).await;
    let calls = (0..64).map(|i| {
        let http = http.clone();
        tokio::spawn(async move {
            let input = format!("request number {i} ").repeat(100);
            let reply = http.invoke("upper", "", input.clone()).await;
            (reply.status, reply.text(), input.to_uppercase())
        })
    });
    for call in futures_join(calls).await {
        let (status, got, expected) = call;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got, expected);
    }
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.expect("task"));
    }
    results
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_see_no_environment_and_no_directories() {
    // The test process itself has environment variables (PATH at least).
    assert!(std::env::vars().next().is_some());
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("probe", crate::support::environment_probe_module())
        .await;
    let reply = http.invoke("probe", "", "").await;
    assert_eq!(
        reply.header("x-faasrt-exit-code"),
        Some("0"),
        "{}",
        reply.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invocation_in_flight_finishes_on_the_version_it_started_with() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("f", crate::support::sleepy_module(400, "old"))
        .await;
    let in_flight = {
        let http = http.clone();
        tokio::spawn(async move { http.invoke("f", "", "").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let redeployed = http
        .deploy("f", crate::support::sleepy_module(0, "new"))
        .await;
    assert_eq!(redeployed.status, StatusCode::CREATED);
    assert!(
        !in_flight.is_finished(),
        "the first invocation was still running"
    );
    assert_eq!(http.invoke("f", "", "").await.text(), "new");
    let old = in_flight.await.expect("task");
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.text(), "old");
    let slept: u64 = old.header("x-faasrt-duration-us").unwrap().parse().unwrap();
    assert!(slept >= 400_000, "the old version ran for {slept} us");
}
