//! Per-function limits trigger at their bounds, and not before.

use crate::support::{TestServer, example, flood_module_on, loop_module, wat};
use hyper::StatusCode;

/// A module that grows its memory by `pages` 64 KiB pages and exits 0 if
/// that worked, 1 if `memory.grow` said no.
fn grower(pages: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (if (i32.eq (memory.grow (i32.const {pages})) (i32.const -1))
                (then (call $exit (i32.const 1))))))"#
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_growth_past_the_limit_fails_inside_the_guest() {
    let server = TestServer::fresh();
    let http = server.http();
    // 2 MiB = 32 pages; the module starts with 1.
    for (name, pages, expected) in [("fits", 16, "0"), ("exactly", 31, "0"), ("over", 32, "1")] {
        let reply = http.deploy_with(name, "memory_mb=2", grower(pages)).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let invoked = http.invoke(name, "", "").await;
        assert_eq!(
            invoked.header("x-faasrt-exit-code"),
            Some(expected),
            "{name}: {}",
            invoked.text()
        );
    }
    // The server is unharmed and the same module runs with a larger limit.
    http.deploy_with("roomy", "memory_mb=4", grower(32)).await;
    assert_eq!(http.invoke("roomy", "", "").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_past_its_concurrency_gets_429_and_others_still_run() {
    let server = TestServer::fresh();
    let http = server.http();
    let deployed = http
        .deploy_with("spin", "max_concurrency=2&timeout_ms=400", loop_module())
        .await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text());
    assert_eq!(deployed.json()["limits"]["max_concurrency"], 2);
    http.deploy("hello", example("hello")).await;
    let running: Vec<_> = (0..2)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move { http.invoke("spin", "", "").await.status })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let third = http.invoke("spin", "", "").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.error_code(), "too_many_requests");
    assert_eq!(third.header("retry-after"), Some("1"));
    assert!(
        third.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"spin\"")
    );
    assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
    for run in running {
        // Both permitted invocations ran (to their timeout), not refused.
        assert_eq!(run.await.unwrap(), StatusCode::GATEWAY_TIMEOUT);
    }
    assert_eq!(
        http.invoke("spin", "", "").await.status,
        StatusCode::GATEWAY_TIMEOUT
    );
    let metrics = http.get("/metrics").await.text();
    assert!(
        metrics.contains(r#"faasrt_invocations_rejected_total{function="spin"} 1"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_concurrency_limit_beyond_the_server_is_refused() {
    let server = TestServer::fresh();
    let http = server.http();
    for bad in ["0", "100000"] {
        let reply = http
            .deploy_with("f", &format!("max_concurrency={bad}"), example("cat"))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_code(), "invalid_limit");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_flood_is_stopped_at_the_log_limit() {
    let server = TestServer::fresh_with(|c| c.max_log_bytes(1 << 20), false);
    let http = server.http();
    // Writes to fd 2, the log, forever.
    http.deploy("chatty", flood_module_on(2)).await;
    let reply = http.invoke("chatty", "", "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.error_code(), "output_too_large");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1048576")
    );
    // Logging up to the limit is fine: hello writes nothing there and exits.
    http.deploy("hello", example("hello")).await;
    assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn guard_pages_keep_every_guarantee() {
    // The other tests run with explicit bounds checks, the default; this
    // one runs the same guarantees with guard pages (and, where wasmtime
    // finds protection keys, memories striped with them).
    use faasrt_runtime::{InvocationStatus, InvokeRequest, Runtime, RuntimeConfig};
    let runtime =
        Runtime::open(RuntimeConfig::in_memory().explicit_bounds_checks(false)).expect("runtime");
    let limited = faasrt_runtime::DeployOptions {
        limits: faasrt_runtime::RequestedLimits {
            memory_mb: Some(2),
            timeout_ms: Some(200),
            ..Default::default()
        },
        ..Default::default()
    };
    let out_of_bounds = wat(r#"(module (memory 1)
        (func (export "_start") (drop (i32.load (i32.const 0x7ffffff0)))))"#);
    for (name, wasm) in [
        ("hello", example("hello").to_vec()),
        ("oob", out_of_bounds),
        ("spin", loop_module()),
        ("fits", grower(31)),
        ("over", grower(32)),
    ] {
        runtime
            .deploy(name, wasm.into(), limited.clone())
            .await
            .expect(name);
    }
    let run = async |name: &str| {
        runtime
            .invoke(name, InvokeRequest::default())
            .await
            .expect("runs")
    };
    assert_eq!(&run("hello").await.output[..], b"Hello, world!\n");
    match run("oob").await.status {
        InvocationStatus::Trapped { message, .. } => {
            assert!(message.contains("out of bounds"), "{message}")
        }
        other => panic!("an out-of-bounds load gave {other:?}"),
    }
    assert!(matches!(
        run("spin").await.status,
        InvocationStatus::TimedOut { .. }
    ));
    assert_eq!(run("fits").await.status, InvocationStatus::Exited(0));
    assert_eq!(run("over").await.status, InvocationStatus::Exited(1));
}
