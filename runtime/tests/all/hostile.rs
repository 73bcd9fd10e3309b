//! Hostile guests are contained: each ends with a clear error for its own
//! invocation, the server keeps serving (a `hello` beside it answers), and
//! nothing leaks: instance slots, file descriptors, child processes.

use bytes::Bytes;
use faasrt_runtime::pipeline::PipelineSpec;
use faasrt_runtime::{
    BoundsChecks, DeployOptions, InvocationStatus, InvokeRequest, RequestedLimits, Runtime,
    RuntimeConfig,
};
use faasrt_testkit::{example, flood_module, loop_module, trap_module};

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

/// Runs the calling test again alone in a fresh process of this test binary
/// and returns `false` there (go on with the body); returns `true` in the
/// original once that process passed. File descriptors are counted for the
/// whole process, so a leak check needs a process no other test shares.
fn rerun_alone(test: &str) -> bool {
    const CHILD: &str = "FAASRT_LEAK_CHECK_CHILD";
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("test binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{test} failed alone:\n{text}");
    assert!(
        text.contains("1 passed"),
        "{test} did not run alone:\n{text}"
    );
    true
}

/// Checks that nothing is held once everything has ended.
/// Runs `round` twice and checks that the second run left nothing behind
/// that the first had not: instance slots, file descriptors, child
/// processes. The first run warms up what is created once and kept (a
/// module's memory image, the runtime's child-process watcher).
async fn twice_leaking_nothing(runtime: &Runtime, mut round: impl AsyncFnMut()) {
    round().await;
    let fds_before = runtime.resources().open_fds;
    round().await;
    assert_nothing_leaked(runtime, fds_before).await;
}

async fn assert_nothing_leaked(runtime: &Runtime, fds_before: usize) {
    // Reaping and closing happen as invocations end; allow the runtime's
    // own threads a moment.
    for _ in 0..50 {
        let usage = runtime.resources();
        if usage.instance_slots == 0
            && usage.native_processes == 0
            && usage.open_fds <= fds_before
            && child_processes().is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "resources leaked: {:?} (fds before: {fds_before}), child processes {:?}",
        runtime.resources(),
        child_processes()
    );
}

/// Processes (alive or zombie) whose parent is this test process. The
/// runtime is a child subreaper, so anything a native function left behind
/// (an orphan of a killed process) would be one of them.
fn child_processes() -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                status
                    .lines()
                    .any(|line| line.strip_prefix("PPid:").map(str::trim) == Some(me.as_str()))
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_wasm_guests_end_alone_and_leak_nothing() {
    if rerun_alone("hostile::hostile_wasm_guests_end_alone_and_leak_nothing") {
        return;
    }
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
    twice_leaking_nothing(&runtime, async || {
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
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_native_guests_end_alone_and_leak_nothing() {
    if rerun_alone("hostile::hostile_native_guests_end_alone_and_leak_nothing") {
        return;
    }
    let runtime = runtime().await;
    let native = DeployOptions {
        code: faasrt_runtime::Code::Native,
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
    twice_leaking_nothing(&runtime, async || {
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
    })
    .await;
}

/// The wasm module of hostile guest `name`.
fn hostile(name: &str) -> Bytes {
    Bytes::from_static(
        faasrt_example_artifacts::get_hostile(name)
            .unwrap_or_else(|| panic!("hostile guest {name} is built"))
            .wasm,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wasm_corpus_is_contained() {
    if rerun_alone("hostile::the_wasm_corpus_is_contained") {
        return;
    }
    let runtime = runtime().await;
    // Each guest twice: with explicit bounds checks (the default) and with
    // guard pages (a second engine and pool).
    let modes = [BoundsChecks::Explicit, BoundsChecks::GuardPages];
    for mode in modes {
        for name in [
            "hostile-loop",
            "hostile-memory-bomb",
            "hostile-recursion",
            "hostile-output-flood",
            "hostile-table-growth",
            "hostile-bad-fds",
        ] {
            let options = DeployOptions {
                code: faasrt_runtime::Code::Wasm(faasrt_runtime::WasmOptions {
                    skip_preinit: false,
                    bounds_checks: Some(mode),
                }),
                ..limits(300)
            };
            runtime
                .deploy(&format!("{name}-{mode}"), hostile(name), options)
                .await
                .expect(name);
        }
    }
    runtime
        .invoke("hello", InvokeRequest::default())
        .await
        .expect("hello");
    twice_leaking_nothing(&runtime, async || {
        for mode in modes {
            let name = |guest: &str| format!("{guest}-{mode}");
            let status = invoke_beside_hello(&runtime, &name("hostile-loop")).await;
            assert!(
                matches!(status, InvocationStatus::TimedOut { .. }),
                "{mode}: {status:?}"
            );
            for guest in [
                "hostile-memory-bomb",
                "hostile-recursion",
                "hostile-table-growth",
            ] {
                let status = invoke_beside_hello(&runtime, &name(guest)).await;
                assert!(
                    matches!(status, InvocationStatus::Trapped { .. }),
                    "{guest} ({mode}): {status:?}"
                );
            }
            let status = invoke_beside_hello(&runtime, &name("hostile-output-flood")).await;
            assert!(
                matches!(status, InvocationStatus::OutputTooLarge { .. }),
                "{mode}: {status:?}"
            );
            // Calls on descriptors it was never given fail with EBADF;
            // nothing traps, nothing is reached.
            let bad_fds = runtime
                .invoke(&name("hostile-bad-fds"), InvokeRequest::default())
                .await
                .expect("runs");
            assert_eq!(
                bad_fds.status,
                InvocationStatus::Exited(0),
                "{mode}: {}",
                bad_fds.log_tail
            );
            let report = String::from_utf8_lossy(&bad_fds.output).into_owned();
            assert!(report.contains("read fd 3: EBADF"), "{report}");
            assert!(!report.contains("root:"), "it read /etc/passwd: {report}");
        }
    })
    .await;
    // A guest whose init traps is a deploy error, and nothing is stored.
    let init_trap = runtime
        .deploy(
            "init-trap",
            hostile("hostile-init-trap"),
            DeployOptions::default(),
        )
        .await;
    assert!(matches!(
        init_trap,
        Err(faasrt_runtime::RuntimeError::PreinitFailed { .. })
    ));
    assert!(runtime.get("init-trap").is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_native_corpus_is_contained() {
    if rerun_alone("hostile::the_native_corpus_is_contained") {
        return;
    }
    faasrt_testkit::require!(
        faasrt_example_artifacts::native_examples_built(),
        "FAASRT_EXPECT_NATIVE",
        "native guests are built on x86_64 Linux only"
    );
    let runtime = runtime().await;
    let native = DeployOptions {
        code: faasrt_runtime::Code::Native,
        ..limits(3_000)
    };
    let corpus = [
        "hostile-fork-bomb-native",
        "hostile-read-shadow-native",
        "hostile-socket-native",
        "hostile-ptrace-native",
        "hostile-stdin-write-native",
        "hostile-exec-shell-native",
        "hostile-setsid-escape-native",
    ];
    for name in corpus {
        let executable = faasrt_example_artifacts::get_hostile_native(name)
            .unwrap_or_else(|| panic!("{name} is built"))
            .executable;
        runtime
            .deploy(name, Bytes::from_static(executable), native.clone())
            .await
            .expect(name);
    }
    runtime
        .invoke("hello", InvokeRequest::default())
        .await
        .expect("hello");
    twice_leaking_nothing(&runtime, async || {
        let mut outcomes = std::collections::BTreeMap::new();
        for name in corpus {
            let invocation = runtime
                .invoke(name, InvokeRequest::default())
                .await
                .expect("runs");
            let hello = runtime
                .invoke("hello", InvokeRequest::default())
                .await
                .expect("hello");
            assert_eq!(&hello.output[..], b"Hello, world!\n");
            // The output, then the log tail: what each guest saw and said.
            outcomes.insert(
                name,
                (
                    invocation.status,
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&invocation.output),
                        invocation.log_tail
                    ),
                ),
            );
        }
        let (fork_status, fork_output) = &outcomes["hostile-fork-bomb-native"];
        assert!(
            !fork_output.contains("FORKED"),
            "nothing limited the fork bomb: {fork_output}"
        );
        assert_ne!(*fork_status, InvocationStatus::Exited(0));
        let (shadow_status, shadow_output) = &outcomes["hostile-read-shadow-native"];
        assert!(
            !shadow_output.contains("READ"),
            "it read /etc/shadow: {shadow_output}"
        );
        assert_ne!(*shadow_status, InvocationStatus::Exited(0));
        for name in ["hostile-socket-native", "hostile-ptrace-native"] {
            let (status, output) = &outcomes[name];
            assert_eq!(
                *status,
                InvocationStatus::Exited(1),
                "{name} was not refused: {output}"
            );
        }
        assert_eq!(
            outcomes["hostile-stdin-write-native"].0,
            InvocationStatus::Exited(0)
        );
        // No exec after start: the shell never runs.
        let (exec_status, exec_output) = &outcomes["hostile-exec-shell-native"];
        assert!(
            !exec_output.contains("ESCAPED"),
            "it ran a shell: {exec_output}"
        );
        assert_eq!(*exec_status, InvocationStatus::Exited(1), "{exec_output}");
        // Nothing leaves the process group that is killed as a whole.
        let (setsid_status, setsid_output) = &outcomes["hostile-setsid-escape-native"];
        assert!(
            !setsid_output.contains("ESCAPED"),
            "a child left the process group: {setsid_output}"
        );
        assert_eq!(
            *setsid_status,
            InvocationStatus::Exited(1),
            "{setsid_output}"
        );
    })
    .await;
}
