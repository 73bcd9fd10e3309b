//! Bounds checks per function: `explicit` (the default) or `guard-pages`,
//! chosen at deploy, each function run with its own, mixed in one pipeline.
//! (Kept across restarts and refused when bad: the server's tests.)

use bytes::Bytes;
use faasrt_runtime::{
    BoundsChecks, DeployOptions, InvocationStatus, InvokeRequest, RequestedLimits, Runtime,
    RuntimeConfig,
};
use faasrt_testkit::{example, wat};

fn with(mode: BoundsChecks) -> DeployOptions {
    DeployOptions {
        code: faasrt_runtime::Code::Wasm(faasrt_runtime::WasmOptions {
            skip_preinit: false,
            bounds_checks: Some(mode),
        }),
        limits: RequestedLimits {
            memory_mb: Some(2),
            timeout_ms: Some(500),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Grows its memory by `pages` pages; traps when refused.
fn grower(pages: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module (memory 1)
            (func (export "_start")
                (if (i32.eq (memory.grow (i32.const {pages})) (i32.const -1)) (then unreachable))
                (i32.store (i32.const {last}) (i32.const 1))))"#,
        last = (pages + 1) * 65536 - 4
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_function_runs_with_the_bounds_checks_it_was_deployed_with() {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    for mode in [BoundsChecks::Explicit, BoundsChecks::GuardPages] {
        let hello = format!("hello-{mode}");
        let info = runtime
            .deploy(&hello, Bytes::from_static(example("hello")), with(mode))
            .await
            .expect("deploy");
        assert_eq!(info.bounds_checks, Some(mode));
        assert_eq!(runtime.get(&hello).expect("get").bounds_checks, Some(mode));
        let answer = runtime
            .invoke(&hello, InvokeRequest::default())
            .await
            .expect("invoke");
        assert_eq!(&answer.output[..], b"Hello, world!\n", "{mode}");

        // The memory limit (2 MiB = 32 pages) holds exactly at its bound in
        // both modes, inside the guest.
        let fits = format!("fits-{mode}");
        runtime
            .deploy(&fits, Bytes::from(grower(31)), with(mode))
            .await
            .expect("deploy");
        let run = runtime.invoke(&fits, InvokeRequest::default()).await;
        assert_eq!(
            run.expect("invoke").status,
            InvocationStatus::Exited(0),
            "{mode}"
        );
        let over = format!("over-{mode}");
        runtime
            .deploy(&over, Bytes::from(grower(32)), with(mode))
            .await
            .expect("deploy");
        let run = runtime.invoke(&over, InvokeRequest::default()).await;
        assert!(
            matches!(
                run.expect("invoke").status,
                InvocationStatus::Trapped { .. }
            ),
            "{mode}: growing past the limit must fail inside the guest"
        );
        // An access past the memory traps, whatever catches it.
        let stray = format!("stray-{mode}");
        let module = wat(r#"(module (memory 1)
            (func (export "_start") (drop (i32.load (i32.const 65536)))))"#);
        runtime
            .deploy(&stray, Bytes::from(module), with(mode))
            .await
            .expect("deploy");
        let run = runtime.invoke(&stray, InvokeRequest::default()).await;
        match run.expect("invoke").status {
            InvocationStatus::Trapped { message, .. } => {
                assert!(message.contains("out of bounds"), "{mode}: {message}")
            }
            other => panic!("{mode}: {other:?}"),
        }
    }
    // One pipeline, one stage of each.
    let mut stage = with(BoundsChecks::GuardPages);
    stage.limits = RequestedLimits::default();
    runtime
        .deploy("upper", Bytes::from_static(example("upper")), stage)
        .await
        .expect("deploy");
    runtime
        .deploy(
            "cat",
            Bytes::from_static(example("cat")),
            DeployOptions::default(),
        )
        .await
        .expect("deploy");
    assert_eq!(
        runtime.get("cat").expect("get").bounds_checks,
        Some(BoundsChecks::Explicit),
        "the server's default"
    );
    let (output, result) =
        crate::pipelines::run(&runtime, "cat | upper", Bytes::from_static(b"mixed\n")).await;
    assert_eq!(output, b"MIXED\n", "{result:?}");
}
