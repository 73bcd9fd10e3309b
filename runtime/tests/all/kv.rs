//! Functions' key-value state through the library: the `counter` examples
//! (Rust and Go) keep counts across invocations, a failed invocation's
//! writes are dropped, quotas refuse what does not fit, the state outlives
//! a restart and a redeploy but not a remove, and many invocations at once
//! each commit theirs; the same for the native build of `counter`, whose
//! calls go over its key-value channel.

use bytes::Bytes;
use faasrt_runtime::{
    DeployOptions, InvocationStatus, InvokeRequest, KvUse, RequestedLimits, Runtime, RuntimeConfig,
    RuntimeError,
};
use faasrt_testkit::example;

/// Deploys example `example_name` as `name`: its native executable for a
/// `-native` name, its wasm module otherwise.
async fn deploy(runtime: &Runtime, name: &str, example_name: &str, limits: RequestedLimits) {
    let (code, bytes) = if example_name.ends_with("-native") {
        let native = faasrt_example_artifacts::get_native(example_name)
            .unwrap_or_else(|| panic!("{example_name} is built"));
        (faasrt_runtime::Code::Native, native.executable)
    } else {
        (faasrt_runtime::Code::default(), example(example_name))
    };
    runtime
        .deploy(
            name,
            Bytes::from_static(bytes),
            DeployOptions {
                code,
                limits,
                ..Default::default()
            },
        )
        .await
        .expect("deploy");
}

/// Skips a native test where the native examples are not built (fails it
/// where FAASRT_EXPECT_NATIVE=1 says they are).
fn require_native() -> bool {
    if faasrt_example_artifacts::native_examples_built() {
        return true;
    }
    assert!(
        !faasrt_testkit::expected("FAASRT_EXPECT_NATIVE"),
        "native examples are built on x86_64 Linux only, but FAASRT_EXPECT_NATIVE=1 says this machine has them"
    );
    eprintln!("skipped: native examples are built on x86_64 Linux only");
    false
}

async fn count(
    runtime: &Runtime,
    function: &str,
    names: &str,
    args: &[&str],
) -> (i32, String, String) {
    let invocation = runtime
        .invoke(
            function,
            InvokeRequest {
                args: args.iter().map(|a| a.to_string()).collect(),
                input: Bytes::from(names.to_owned()),
                ..Default::default()
            },
        )
        .await
        .expect("invoke");
    (
        invocation.status.exit_code(),
        String::from_utf8_lossy(&invocation.output).into_owned(),
        invocation.log_tail,
    )
}

/// Two tests of `$helper`: `$wasm` on the wasm `counter`, and `$native` on
/// its native build `counter-native` (skipped where native examples are
/// not built, failed where FAASRT_EXPECT_NATIVE=1 says they are).
macro_rules! on_both_builds {
    ($wasm:ident, $native:ident, $helper:ident) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $wasm() {
            $helper("counter").await;
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn $native() {
            if require_native() {
                $helper("counter-native").await;
            }
        }
    };
}

/// The walk-through every SDK must pass: counts carry over, a failed run
/// changes nothing, and the operator sees the same state.
async fn counts_carry_over_and_a_failure_keeps_nothing(example_name: &str) {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    deploy(
        &runtime,
        "counter",
        example_name,
        RequestedLimits::default(),
    )
    .await;
    assert_eq!(
        count(&runtime, "counter", "ann\nbob\nann\n", &[]).await.1,
        "ann 1\nbob 1\nann 2\n"
    );
    let (status, output, log) = count(&runtime, "counter", "ann\n", &["--fail"]).await;
    assert_eq!(
        (status, output.as_str()),
        (1, "ann 3\n"),
        "it saw its own write: {log}"
    );
    assert_eq!(
        count(&runtime, "counter", "ann\n", &[]).await.1,
        "ann 3\n",
        "the failed invocation's write was dropped"
    );
    assert_eq!(
        runtime.kv_get("counter", b"count/ann").await.unwrap(),
        Some(b"3".to_vec())
    );
    let page = runtime
        .kv_list("counter", b"count/", None, 10)
        .await
        .unwrap();
    let keys: Vec<&[u8]> = page.entries.iter().map(|e| e.key.as_slice()).collect();
    assert_eq!(keys, [&b"count/ann"[..], b"count/bob"]);
    assert_eq!(page.usage.keys, 2);
}

on_both_builds!(
    the_rust_sdk_keeps_state_between_invocations,
    the_rust_sdk_built_natively_keeps_state_between_invocations,
    counts_carry_over_and_a_failure_keeps_nothing
);

#[tokio::test(flavor = "multi_thread")]
async fn the_go_sdk_keeps_state_between_invocations() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::go_examples_built(),
        "FAASRT_EXPECT_GO",
        "the Go examples are not built (run scripts/install-go.sh)"
    );
    counts_carry_over_and_a_failure_keeps_nothing("go-counter").await;
}

on_both_builds!(
    a_write_past_the_quota_fails_the_invocation_and_keeps_nothing,
    a_native_write_past_the_quota_fails_the_invocation_and_keeps_nothing,
    past_the_quota
);

async fn past_the_quota(example_name: &str) {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    let two_keys = RequestedLimits {
        kv_max_keys: Some(2),
        ..Default::default()
    };
    deploy(&runtime, "counter", example_name, two_keys).await;
    count(&runtime, "counter", "a\n", &[]).await;
    let (status, _, log) = count(&runtime, "counter", "a\nb\nc\n", &[]).await;
    assert_eq!(status, 1, "the SDK's error fails the function");
    assert!(log.contains("quota"), "the log says why: {log}");
    assert_eq!(runtime.kv_get("counter", b"count/b").await.unwrap(), None);
    assert_eq!(
        runtime.kv_get("counter", b"count/a").await.unwrap(),
        Some(b"1".to_vec()),
        "the failed invocation's write of a is gone too"
    );
    // The operator's writes count against the same quota.
    runtime.kv_put("counter", b"count/b", b"7").await.unwrap();
    assert!(matches!(
        runtime.kv_put("counter", b"count/c", b"1").await,
        Err(RuntimeError::KvQuotaExceeded { max_keys: 2, .. })
    ));
    runtime.kv_delete("counter", b"count/b").await.unwrap();
    runtime.kv_put("counter", b"count/c", b"1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn state_outlives_a_restart_and_a_redeploy_but_not_a_remove() {
    let dir = tempfile::tempdir().unwrap();
    {
        let runtime = Runtime::open(RuntimeConfig::new(dir.path())).expect("runtime");
        deploy(&runtime, "counter", "counter", RequestedLimits::default()).await;
        count(&runtime, "counter", "x\nx\n", &[]).await;
    }
    let runtime = Runtime::open(RuntimeConfig::new(dir.path())).expect("reopen");
    assert_eq!(count(&runtime, "counter", "x\n", &[]).await.1, "x 3\n");
    // A new version of the function keeps its state.
    deploy(
        &runtime,
        "counter",
        "counter",
        RequestedLimits {
            memory_mb: Some(64),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(count(&runtime, "counter", "x\n", &[]).await.1, "x 4\n");
    runtime.remove("counter").await.unwrap();
    deploy(&runtime, "counter", "counter", RequestedLimits::default()).await;
    assert_eq!(
        count(&runtime, "counter", "x\n", &[]).await.1,
        "x 1\n",
        "a removed function's state went with it"
    );
}

on_both_builds!(
    an_invocation_that_may_not_use_state_is_told_why,
    a_native_invocation_that_may_not_use_state_is_told_why,
    refused_is_told_why
);

async fn refused_is_told_why(example_name: &str) {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    deploy(
        &runtime,
        "counter",
        example_name,
        RequestedLimits::default(),
    )
    .await;
    let invocation = runtime
        .invoke(
            "counter",
            InvokeRequest {
                input: Bytes::from_static(b"a\n"),
                kv: KvUse::Refused,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(invocation.status, InvocationStatus::Exited(1));
    assert!(
        invocation.log_tail.contains("no key-value state"),
        "{}",
        invocation.log_tail
    );
    assert_eq!(runtime.kv_get("counter", b"count/a").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_stage_commits_its_state_when_it_succeeds() {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    deploy(&runtime, "counter", "counter", RequestedLimits::default()).await;
    deploy(&runtime, "upper", "upper", RequestedLimits::default()).await;
    let (output, result) =
        crate::pipelines::run(&runtime, "counter | upper", Bytes::from_static(b"ann\n")).await;
    assert_eq!(result.exit_code(), 0);
    assert_eq!(output, b"ANN 1\n");
    assert_eq!(
        runtime.kv_get("counter", b"count/ann").await.unwrap(),
        Some(b"1".to_vec())
    );
}

on_both_builds!(
    concurrent_invocations_each_commit_their_writes,
    concurrent_native_invocations_each_commit_their_writes,
    concurrent_counts
);

/// Under load: 8 tasks each run 25 invocations, every one counting a name
/// of its own, while other functions are deployed and removed; every
/// count lands exactly once.
async fn concurrent_counts(example_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::open(RuntimeConfig::new(dir.path())).expect("runtime");
    deploy(
        &runtime,
        "counter",
        example_name,
        RequestedLimits::default(),
    )
    .await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let runtime = runtime.clone();
            tokio::spawn(async move {
                for round in 0..25 {
                    let names = format!("t{task}\nt{task}-r{round}\n");
                    let (status, _, log) = count(&runtime, "counter", &names, &[]).await;
                    assert_eq!(status, 0, "{log}");
                }
            })
        })
        .collect();
    for churn in 0..5 {
        let name = format!("churn-{churn}");
        deploy(&runtime, &name, "cat", RequestedLimits::default()).await;
        runtime.remove(&name).await.unwrap();
    }
    for task in tasks {
        task.await.unwrap();
    }
    for task in 0..8 {
        assert_eq!(
            runtime
                .kv_get("counter", format!("count/t{task}").as_bytes())
                .await
                .unwrap(),
            Some(b"25".to_vec()),
            "task {task}'s own name was counted once per invocation"
        );
    }
    let page = runtime.kv_list("counter", b"", None, 1000).await.unwrap();
    assert_eq!(page.usage.keys, 8 + 8 * 25);
    assert_eq!(page.entries.len(), 8 + 8 * 25);
}
