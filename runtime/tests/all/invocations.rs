//! Invocations through the library: the instance-slot limit, and running a
//! module once without storing it.

use faasrt_runtime::{FunctionLimits, InvocationStatus, InvokeRequest, Runtime, RuntimeConfig};
use faasrt_testkit::{example, loop_module};

#[tokio::test(flavor = "multi_thread")]
async fn excess_invocations_get_429_not_a_crash() {
    let runtime = Runtime::open(RuntimeConfig::in_memory().max_instances(1)).expect("runtime");
    runtime
        .deploy(
            "spin",
            loop_module().into(),
            faasrt_runtime::DeployOptions {
                limits: faasrt_runtime::RequestedLimits {
                    timeout_ms: Some(300),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("deploy");
    let busy = runtime.clone();
    let first = tokio::spawn(async move { busy.invoke("spin", InvokeRequest::default()).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = runtime.invoke("spin", InvokeRequest::default()).await;
    assert!(matches!(
        second,
        Err(faasrt_runtime::RuntimeError::Busy { limit: 1 })
    ));
    let first = first.await.expect("task").expect("invoke");
    assert_eq!(first.status, InvocationStatus::TimedOut { limit_ms: 300 });
    // The slot is free again.
    assert!(
        runtime
            .invoke("spin", InvokeRequest::default())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_module_runs_without_storing() {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    let invocation = runtime
        .run_module(
            example("hello").into(),
            vec!["hello".into(), "local".into()],
            bytes::Bytes::new(),
            FunctionLimits::default(),
        )
        .await
        .expect("runs");
    assert_eq!(invocation.status, InvocationStatus::Exited(0));
    assert_eq!(&invocation.output[..], b"Hello, local!\n");
    assert!(runtime.list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_digest_runs_only_that_version() {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    let first = runtime
        .deploy("f", example("upper").into(), Default::default())
        .await
        .expect("deploy");
    let pinned = InvokeRequest {
        input: bytes::Bytes::from_static(b"abc"),
        digest: Some(first.digest.clone()),
        ..Default::default()
    };
    let ran = runtime.invoke("f", pinned.clone()).await.expect("pinned");
    assert_eq!(&ran.output[..], b"ABC");
    runtime
        .deploy("f", example("cat").into(), Default::default())
        .await
        .expect("redeploy");
    match runtime.invoke("f", pinned).await {
        Err(faasrt_runtime::RuntimeError::DigestChanged {
            expected, deployed, ..
        }) => {
            assert_eq!(expected, first.digest);
            assert_ne!(deployed, first.digest);
        }
        other => panic!("a changed digest must be refused, got {other:?}"),
    }
}
