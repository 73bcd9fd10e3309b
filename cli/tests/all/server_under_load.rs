//! The real `faasrt serve`, under its seccomp filters, as it lives in
//! production: threads that run guests first, then bursts of deploys,
//! native invocations and native pipelines that make the host threads grow,
//! idle out and grow again. Every deploy and every native start must work,
//! and every thread must carry exactly the filters of its role
//! (`/proc/<pid>/task/<tid>/status`).

use crate::cli::{Serve, http_get};
use crate::support::{Http, example};
use hyper::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;

/// The names the server gives its threads (`comm`).
const API_THREAD: &str = faasrt_cli::API_THREAD_NAME;
const HOST_THREAD: &str = faasrt_runtime::HOST_THREAD_NAME;

/// How long an idle host thread stays in these tests: short, so that a
/// pause between two bursts retires them all.
const KEEP_ALIVE: &str = "200ms";

/// One thread of the server: its name and how many seccomp filters it has.
#[derive(Debug)]
struct ThreadFilters {
    name: String,
    filters: u32,
}

/// Every thread of process `pid`, by thread id.
fn threads_of(pid: u32) -> BTreeMap<u32, ThreadFilters> {
    let mut threads = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/pid/task") {
        let entry = entry.expect("task entry");
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A thread may exit between the listing and the reads.
        let (Ok(name), Ok(status)) = (
            std::fs::read_to_string(entry.path().join("comm")),
            std::fs::read_to_string(entry.path().join("status")),
        ) else {
            continue;
        };
        let filters = status
            .lines()
            .find_map(|line| line.strip_prefix("Seccomp_filters:"))
            .and_then(|value| value.trim().parse().ok())
            .expect("the kernel reports Seccomp_filters");
        threads.insert(
            tid,
            ThreadFilters {
                name: name.trim().to_owned(),
                filters,
            },
        );
    }
    threads
}

/// Checks that every thread of the server carries its role's filters: the
/// runtime filter alone (the main thread's count) on host threads, that or
/// two more (the guest-thread role) on API threads, with at least one API
/// thread that took the role and at least `host_threads` host threads.
fn assert_roles(pid: u32, host_threads: usize) {
    let threads = threads_of(pid);
    let runtime = threads[&pid].filters;
    assert!(runtime >= 1, "the runtime filter is installed: {threads:?}");
    let guest = runtime + faasrt_isolation::GUEST_THREAD_FILTERS;
    let mut hosts = 0;
    let mut guests = 0;
    for (tid, thread) in &threads {
        if thread.name == HOST_THREAD {
            hosts += 1;
            assert_eq!(
                thread.filters, runtime,
                "host thread {tid} carries the guest role: {threads:?}"
            );
        } else if thread.name == API_THREAD && thread.filters == guest {
            guests += 1;
        } else {
            assert_eq!(
                thread.filters, runtime,
                "thread {tid} ({}) has neither role's filters: {threads:?}",
                thread.name
            );
        }
    }
    assert!(guests >= 1, "no thread took the guest role: {threads:?}");
    assert!(
        hosts >= host_threads,
        "{hosts} host threads, expected at least {host_threads}: {threads:?}"
    );
}

/// Many wasm invocations at once, so that every API thread runs guests.
async fn wasm_load(http: &Http) {
    let calls = (0..64).map(|i| {
        let http = http.clone();
        async move {
            let reply = http.invoke("hello", &format!("?arg=load{i}"), "").await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            assert_eq!(reply.text(), format!("Hello, load{i}!\n"));
        }
    });
    futures::future::join_all(calls).await;
}

/// `seq 1 1000` as text.
fn seq_1_to_1000() -> String {
    (1..=1000).map(|n| format!("{n}\n")).collect()
}

/// A burst that needs many host threads at once, all from API threads that
/// run guests: `deploys` new wasm modules (each compiled on a host thread),
/// as many native invocations, and native pipelines with a spliced edge.
async fn burst(http: &Http, round: usize, deploys: usize) {
    let upper = bytes::Bytes::from_static(example("upper"));
    let deploying = (0..deploys).map(|i| {
        let http = http.clone();
        let upper = upper.clone();
        async move {
            let name = format!("burst-{round}-{i}");
            let reply = http.deploy(&name, upper).await;
            assert!(reply.status.is_success(), "deploy {name}: {}", reply.text());
            let reply = http.invoke(&name, "", "loud").await;
            assert_eq!(reply.text(), "LOUD", "{name}");
        }
    });
    let native = (0..deploys).map(|i| {
        let http = http.clone();
        async move {
            let input = format!("native {round} {i}\n");
            let reply = http.invoke("cat-native", "", input.clone()).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            assert_eq!(reply.text(), input);
        }
    });
    let pipelines = (0..8).map(|_| {
        let http = http.clone();
        async move {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("spec", "cat-native | grep 7 | wc-native -l")
                .append_pair("summary", "json")
                .finish();
            let reply = http
                .send(
                    hyper::Method::POST,
                    &format!("/v1/pipelines/run?{query}"),
                    seq_1_to_1000(),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let result = reply.json();
            assert_eq!(result["output"], "271\n", "{result}");
            assert_eq!(
                result["pipestatus"],
                serde_json::json!([0, 0, 0]),
                "{result}"
            );
        }
    });
    futures::join!(
        futures::future::join_all(deploying),
        futures::future::join_all(native),
        futures::future::join_all(pipelines),
    );
}

/// Deploys what the bursts use: hello and upper (wasm, for the load and the
/// deploys), grep (wasm) and cat-native, wc-native.
async fn deploy_fixtures(http: &Http) {
    for name in ["hello", "grep"] {
        let reply = http.deploy(name, example(name)).await;
        assert!(reply.status.is_success(), "{}", reply.text());
    }
    for name in ["cat-native", "wc-native"] {
        let executable = faasrt_example_artifacts::get_native(name)
            .expect("native examples are built")
            .executable;
        let reply = http.deploy_with(name, "kind=native", executable).await;
        assert!(reply.status.is_success(), "{}", reply.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_that_runs_guests_keeps_deploying_and_forking_as_its_threads_come_and_go() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::native_examples_built(),
        "FAASRT_EXPECT_NATIVE",
        "native examples are built on x86_64 Linux only"
    );
    let probed = faasrt_isolation::probe();
    faasrt_testkit::require!(
        faasrt_runtime::doctor::available(&probed, "seccomp"),
        "FAASRT_EXPECT_SECCOMP",
        "no seccomp on this machine"
    );
    let serve = tokio::task::block_in_place(|| {
        Serve::start_with(&["--host-thread-keep-alive", KEEP_ALIVE])
    });
    let http = Http::new(serve.addr(), Some(serve.token()));
    deploy_fixtures(&http).await;
    for round in 0..3 {
        // Guests first, so that the threads that take the burst's requests
        // carry the guest role when the host threads must grow.
        wasm_load(&http).await;
        burst(&http, round, 24).await;
        assert_roles(serve.pid(), 2);
        // Every idle host thread leaves; the next burst makes new ones.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let metrics = tokio::task::block_in_place(|| http_get(&serve.url, "/metrics"));
    assert!(
        metrics.contains("faasrt_seccomp_denied_syscalls 0"),
        "{metrics}"
    );
}
