//! Hostile guests are contained: each ends with a clear error for its own
//! invocation, the server keeps serving (a `hello` beside it answers), and
//! nothing leaks: instance slots, file descriptors, child processes.

use crate::support::{example, flood_module, loop_module, trap_module};
use bytes::Bytes;
use faasrt_runtime::pipeline::PipelineSpec;
use faasrt_runtime::{
    DeployOptions, InvocationStatus, InvokeRequest, RequestedLimits, Runtime, RuntimeConfig,
};

fn limits(timeout_ms: u64) -> DeployOptions {
    DeployOptions {
        limits: RequestedLimits {
            timeout_ms: Some(timeout_ms),
            memory_mb: Some(64),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn runtime() -> Runtime {
    let runtime =
        Runtime::open(RuntimeConfig::in_memory().max_output_bytes(1 << 20)).expect("runtime");
    runtime
        .deploy(
            "hello",
            Bytes::from_static(example("hello")),
            DeployOptions::default(),
        )
        .await
        .expect("hello");
    runtime
}

/// Invokes `name` while `hello` is invoked beside it; checks hello.
async fn invoke_beside_hello(runtime: &Runtime, name: &str) -> InvocationStatus {
    let hostile = runtime.invoke(name, InvokeRequest::default());
    let hello = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        runtime.invoke("hello", InvokeRequest::default()).await
    };
    let (hostile, hello) = tokio::join!(hostile, hello);
    let hello = hello.expect("hello runs");
    assert_eq!(&hello.output[..], b"Hello, world!\n", "hello beside {name}");
    hostile.expect("the hostile invocation runs").status
}

/// Checks that nothing is held once everything has ended.
async fn assert_nothing_leaked(runtime: &Runtime, fds_before: usize) {
    // Reaping and closing happen as invocations end; allow the runtime's
    // own threads a moment.
    for _ in 0..50 {
        let usage = runtime.resources();
        if usage.instance_slots == 0 && usage.native_processes == 0 && usage.open_fds <= fds_before
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "resources leaked: {:?} (fds before: {fds_before})",
        runtime.resources()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_wasm_guests_end_alone_and_leak_nothing() {
    let runtime = runtime().await;
    let fixtures = [
        ("spin", loop_module()),
        ("flood", flood_module()),
        ("trap", trap_module()),
    ];
    for (name, wasm) in fixtures {
        runtime
            .deploy(name, Bytes::from(wasm), limits(300))
            .await
            .expect("deploy");
    }
    // Warm up once so lazily opened descriptors are not counted as leaks.
    runtime
        .invoke("hello", InvokeRequest::default())
        .await
        .expect("hello");
    let fds_before = runtime.resources().open_fds;
    assert!(matches!(
        invoke_beside_hello(&runtime, "spin").await,
        InvocationStatus::TimedOut { .. }
    ));
    assert!(matches!(
        invoke_beside_hello(&runtime, "flood").await,
        InvocationStatus::OutputTooLarge { .. }
    ));
    assert!(matches!(
        invoke_beside_hello(&runtime, "trap").await,
        InvocationStatus::Trapped { .. }
    ));
    assert_nothing_leaked(&runtime, fds_before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_native_guests_end_alone_and_leak_nothing() {
    let runtime = runtime().await;
    let native = DeployOptions {
        native: true,
        ..limits(500)
    };
    let sleeper = std::fs::read("/bin/sleep").expect("/bin/sleep");
    runtime
        .deploy(
            "sleeper",
            Bytes::from(sleeper),
            DeployOptions {
                args: vec!["30".into()],
                ..native.clone()
            },
        )
        .await
        .expect("deploy");
    let cat = std::fs::read("/bin/cat").expect("/bin/cat");
    runtime
        .deploy("cat-host", Bytes::from(cat), native.clone())
        .await
        .expect("deploy");
    runtime
        .deploy(
            "yes",
            Bytes::from_static(example("yes")),
            DeployOptions::default(),
        )
        .await
        .expect("deploy");
    runtime
        .invoke("hello", InvokeRequest::default())
        .await
        .expect("hello");
    let fds_before = runtime.resources().open_fds;
    assert!(matches!(
        invoke_beside_hello(&runtime, "sleeper").await,
        InvocationStatus::TimedOut { .. }
    ));
    // A pipeline whose native middle stage is cut off by an early exit.
    let spec = PipelineSpec::parse("yes | cat-host | cat-host | hello").expect("spec");
    let (_, input) = faasrt_host_api::pipe(16);
    let (output, reader) = faasrt_host_api::pipe(1 << 16);
    let result = runtime
        .run_pipeline(&spec, input, output)
        .await
        .expect("runs");
    drop(reader);
    assert_eq!(result.stages[3].exit_code, 0);
    assert_nothing_leaked(&runtime, fds_before).await;
}
