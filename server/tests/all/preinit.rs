//! Pre-initialized snapshots, reactors, and artifacts that survive restarts.

use crate::support::{Http, TestServer, byte_printer, example, preinit_module};
use hyper::StatusCode;

async fn deploy_created(
    http: &Http,
    name: &str,
    query: &str,
    wasm: impl Into<bytes::Bytes>,
) -> serde_json::Value {
    let reply = http
        .deploy_with(name, query.trim_start_matches('?'), wasm)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn preinitialized_and_plain_versions_give_the_same_outputs() {
    let server = TestServer::fresh();
    let http = server.http();
    let snapshot = deploy_created(&http, "heavy", "", example("init-heavy")).await;
    assert_eq!(snapshot["preinitialized"], true);
    assert!(snapshot["preinit_us"].as_u64().unwrap() > 0);
    assert!(
        snapshot["snapshot_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let plain = deploy_created(
        &http,
        "heavy-plain",
        "?preinit=false",
        example("init-heavy"),
    )
    .await;
    assert_eq!(plain["preinitialized"], false);
    assert!(plain.get("preinit_us").is_none());

    let input = "0\n1\n999999\n1000000\nseven\n";
    let expected = format!(
        "0 -> 0\n1 -> 2654435761\n999999 -> {}\n1000000 -> missing\nseven -> invalid\n",
        999_999u32.wrapping_mul(2_654_435_761)
    );
    for name in ["heavy", "heavy-plain", "heavy"] {
        let reply = http.invoke(name, "", input).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.text());
        assert_eq!(reply.text(), expected, "{name}");
    }
    let info = http.get("/v1/functions/heavy").await.json();
    assert_eq!(info["preinitialized"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn state_set_at_init_is_seen_and_changes_made_by_an_invocation_are_not() {
    let server = TestServer::fresh();
    let http = server.http();
    // Init moves the byte from '0' to 'A'; each invocation adds one and
    // prints it: always 'B', never 'C'.
    let module = byte_printer(
        r#"(func (export "wizer-initialize") (i32.store8 (i32.const 16) (i32.const 65)))"#,
        r#"(func (export "_start") (call $bump_and_print))"#,
    );
    let info = deploy_created(&http, "counter", "", module.clone()).await;
    assert_eq!(info["preinitialized"], true);
    for _ in 0..3 {
        assert_eq!(http.invoke("counter", "", "").await.text(), "B");
    }
    // Without the snapshot, init never runs: '0' + 1.
    deploy_created(&http, "counter-plain", "?preinit=false", module).await;
    assert_eq!(http.invoke("counter-plain", "", "").await.text(), "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn randomness_is_fresh_in_every_invocation_of_a_snapshot() {
    let server = TestServer::fresh();
    let http = server.http();
    let info = deploy_created(&http, "random", "", example("random")).await;
    assert_eq!(info["preinitialized"], true);
    let draw = async || {
        let text = http.invoke("random", "", "").await.text();
        let mut fields = text
            .split_whitespace()
            .map(|f| f.parse::<u64>().expect("a number"));
        (
            fields.next().expect("fresh"),
            fields.next().expect("at init"),
        )
    };
    let (fresh_1, init_1) = draw().await;
    let (fresh_2, init_2) = draw().await;
    assert_ne!(fresh_1, fresh_2, "two invocations drew the same number");
    // What init drew is frozen in the snapshot: the fixture proves it ran.
    assert_eq!(init_1, init_2);
}

#[tokio::test(flavor = "multi_thread")]
async fn reactors_are_invoked_through_handle() {
    let server = TestServer::fresh();
    let http = server.http();
    // `_initialize` bumps the byte once per instance (never twice), and
    // `handle` bumps it again and prints it: '2' with or without a snapshot.
    let reactor = byte_printer(
        r#"(func (export "_initialize") (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1))))
           (func (export "wizer-initialize"))"#,
        r#"(func (export "handle") (result i32) (call $bump_and_print) (i32.const 0))"#,
    );
    let snapshot = deploy_created(&http, "reactor", "", reactor.clone()).await;
    assert_eq!(snapshot["entry"], "reactor");
    assert_eq!(snapshot["preinitialized"], true);
    deploy_created(&http, "reactor-plain", "?preinit=false", reactor).await;
    for name in ["reactor", "reactor-plain", "reactor"] {
        assert_eq!(http.invoke(name, "", "").await.text(), "2", "{name}");
    }
    // The value `handle` returns is the exit status.
    let failing =
        crate::support::wat(r#"(module (func (export "handle") (result i32) (i32.const 3)))"#);
    deploy_created(&http, "fails", "", failing).await;
    let reply = http.invoke("fails", "", "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.header("x-faasrt-exit-code"), Some("3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_preinitialization_is_a_clean_deploy_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(dir.path(), |c| c.max_preinit_ms(300), false);
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    let cases = [
        ("unreachable", "trapped"),
        ("(loop $l (br $l))", "deploy time limit of 300 ms"),
        ("(call $exit (i32.const 4))", "proc_exit(4)"),
        (
            "(i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 8))
             (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))",
            "reading faasin is not allowed",
        ),
        (
            "(i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 8))
             (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))",
            "writing to faasout is not allowed",
        ),
    ];
    for (body, reason) in cases {
        let reply = http.deploy("bad", preinit_module(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(reply.error_code(), "preinit_failed", "{body}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(reason), "{body}: {message}");
        assert_eq!(
            http.get("/v1/functions/bad").await.status,
            StatusCode::NOT_FOUND
        );
    }
    // The log works during init, and its tail is in the error.
    let logs_then_traps = preinit_module(
        r#"(i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 5))
           (i32.store (i32.const 64) (i32.const 0x6b6f6f6c)) (i32.store8 (i32.const 68) (i32.const 33))
           (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
           unreachable"#,
    );
    let reply = http.deploy("bad", logs_then_traps).await;
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("look!"),
        "{}",
        reply.text()
    );
    let listing = http.get("/v1/functions").await.json();
    assert_eq!(listing["functions"].as_array().unwrap().len(), 1);
    assert_eq!(http.invoke("hello", "", "").await.status, StatusCode::OK);
    // Nothing of the failed deploys stayed behind in the artifacts directory.
    let artifacts = std::fs::read_dir(dir.path().join(faasrt_runtime::ARTIFACTS_DIR))
        .unwrap()
        .count();
    assert_eq!(artifacts, 1);
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loads_artifacts_instead_of_compiling() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path());
        let http = server.http();
        http.deploy("hello", example("hello")).await;
        http.deploy("heavy", example("init-heavy")).await;
        let metrics = http.get("/metrics").await.text();
        assert_eq!(
            metric(&metrics, r#"faasrt_compilations_total{reason="deploy"}"#),
            Some(2.0)
        );
        server.stop();
    }
    let server = TestServer::start(dir.path());
    let http = server.http();
    let metrics = http.get("/metrics").await.text();
    assert_eq!(
        metric(&metrics, "faasrt_artifact_loads_total"),
        Some(2.0),
        "{metrics}"
    );
    assert!(!metrics.contains("faasrt_compilations_total{"), "{metrics}");
    assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
    assert_eq!(
        http.invoke("heavy", "", "7\n").await.text(),
        format!("7 -> {}\n", 7u32.wrapping_mul(2_654_435_761))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_artifact_is_detected_and_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path());
        server.http().deploy("hello", example("hello")).await;
        server.stop();
    }
    let artifacts = dir.path().join(faasrt_runtime::ARTIFACTS_DIR);
    let file = std::fs::read_dir(&artifacts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    {
        let server = TestServer::start(dir.path());
        let http = server.http();
        let metrics = http.get("/metrics").await.text();
        assert_eq!(
            metric(
                &metrics,
                r#"faasrt_compilations_total{reason="artifact_invalid"}"#
            ),
            Some(1.0),
            "{metrics}"
        );
        assert_eq!(http.invoke("hello", "", "").await.text(), "Hello, world!\n");
        server.stop();
    }
    // The rebuilt artifact is good: the next start loads it.
    let server = TestServer::start(dir.path());
    let metrics = server.http().get("/metrics").await.text();
    assert_eq!(
        metric(&metrics, "faasrt_artifact_loads_total"),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stray_artifact_files_are_collected_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = TestServer::start(dir.path());
        server.http().deploy("hello", example("hello")).await;
        server.http().deploy("gone", example("cat")).await;
        server.http().delete("gone").await;
        server.stop();
    }
    let artifacts = dir.path().join(faasrt_runtime::ARTIFACTS_DIR);
    std::fs::write(artifacts.join(".half-written.tmp"), b"x").unwrap();
    let _server = TestServer::start(dir.path());
    let names: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn go_reactors_answer_the_same_with_and_without_a_snapshot() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::go_examples_built(),
        "FAASRT_EXPECT_GO",
        "the Go examples are not built (run scripts/install-go.sh)"
    );
    let server = TestServer::fresh();
    let http = server.http();
    for name in ["go-hello", "go-upper", "go-init-heavy"] {
        let snapshot = deploy_created(&http, name, "", example(name)).await;
        assert_eq!(snapshot["entry"], "reactor", "{name}");
        assert_eq!(snapshot["preinitialized"], true, "{name}");
        deploy_created(
            &http,
            &format!("{name}-plain"),
            "?preinit=false",
            example(name),
        )
        .await;
    }
    let cases = [
        ("go-hello", "?arg=gopher", "", "Hello, gopher!\n".to_owned()),
        ("go-upper", "", "quiet please", "QUIET PLEASE".to_owned()),
        (
            "go-init-heavy",
            "",
            "7\n1000000\n",
            format!(
                "7 -> {}\n1000000 -> missing\n",
                7u32.wrapping_mul(2_654_435_761)
            ),
        ),
    ];
    for (name, query, input, expected) in cases {
        for function in [name.to_owned(), format!("{name}-plain")] {
            let reply = http.invoke(&function, query, input).await;
            assert_eq!(reply.status, StatusCode::OK, "{function}: {}", reply.text());
            assert_eq!(reply.text(), expected, "{function}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn go_randomness_is_fresh_in_every_invocation_of_a_snapshot() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::go_examples_built(),
        "FAASRT_EXPECT_GO",
        "the Go examples are not built (run scripts/install-go.sh)"
    );
    let server = TestServer::fresh();
    let http = server.http();
    deploy_created(&http, "go-random", "", example("go-random")).await;
    // Each source of randomness a Go function may use, including the
    // runtime's global generator that a snapshot would otherwise freeze.
    for source in ["faasrt", "math/rand/v2", "math/rand", "crypto/rand"] {
        let query = format!("?arg={}", source.replace('/', "%2F"));
        let first = http.invoke("go-random", &query, "").await.text();
        let second = http.invoke("go-random", &query, "").await.text();
        let fresh = |text: &str| text.split_whitespace().next().unwrap_or("").to_owned();
        assert!(!fresh(&first).is_empty(), "{source}: {first}");
        assert_ne!(fresh(&first), fresh(&second), "{source} repeated itself");
    }
}
