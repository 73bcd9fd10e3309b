//! Keyed stages beyond Rust on wasm: the Go SDK's records API
//! (`go-sessionize`), and a native executable as a stateful stage (the
//! state travels with each batch, so a native function needs nothing more).

use crate::support::*;
use faasrt_runtime::{Code, DeployOptions, RuntimeConfig};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_keyed_stage_splits_sessions() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::go_examples_built(),
        "FAASRT_EXPECT_GO",
        "the Go examples are not built (no Go toolchain)"
    );
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["go-sessionize"]).await;
    let spec = br#"{"stages": [{"function": "go-sessionize", "args": ["5000"], "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
    streams.create("sessions", spec).expect("create");
    streams.start("sessions").expect("start");
    streams
        .append(
            "sessions",
            b"ann 1000 home\nbob 1500 home\nann 2000 cart\nann 9000 home\nbob 30000 pay\n",
        )
        .expect("append");
    let mut lines = read_output(&streams, "sessions", 5).await;
    streams.drain("sessions").await.expect("drain");
    lines.sort();
    assert_eq!(
        lines,
        [
            "ann s1 1000 home\n",
            "ann s1 2000 cart\n",
            "ann s2 9000 home\n",
            "bob s1 1500 home\n",
            "bob s2 30000 pay\n"
        ]
    );
    let state: BTreeMap<Vec<u8>, Vec<u8>> = streams
        .state("sessions")
        .expect("state")
        .into_iter()
        .map(|entry| (entry.key, entry.value))
        .collect();
    assert_eq!(state[&b"ann"[..]], b"2 9000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_executable_is_a_stateful_stage() {
    faasrt_testkit::require!(
        faasrt_example_artifacts::native_examples_built(),
        "FAASRT_EXPECT_NATIVE",
        "native examples are built on x86_64 Linux only"
    );
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    let native = faasrt_example_artifacts::get_native("word-count-native").expect("built");
    runtime
        .deploy(
            "count-native",
            native.executable.into(),
            DeployOptions {
                code: Code::Native,
                ..Default::default()
            },
        )
        .await
        .expect("deploy");
    let spec = br#"{"stages": [{"function": "cat"}, {"function": "count-native", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
    streams.create("native", spec).expect("create");
    streams.start("native").expect("start");
    let lines = zipf_lines(5, 2_000, 40);
    for chunk in lines.chunks(250) {
        streams
            .append("native", chunk.concat().as_bytes())
            .expect("append");
    }
    let output = read_output(&streams, "native", lines.len()).await;
    streams.drain("native").await.expect("drain");
    assert_eq!(state_of(&streams, "native", 1), expected_counts(&lines));
    let sequences = per_key(&output);
    for (key, count) in expected_counts(&lines) {
        assert_eq!(
            sequences[&key],
            (1..=count).collect::<Vec<_>>(),
            "key {key}"
        );
    }
}
