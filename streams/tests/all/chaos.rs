//! Chaos equivalence: the same seeded input through `cat | keyed count`
//! with 0, 1, 10 and 100 injected faults (traps, timeouts, killed native
//! stages, failed commits) ends with the same state and the same output,
//! each record's effect exactly once; and a function that always fails
//! makes the stream `failed` with its cause.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::faults::{FaultPlan, InjectedFault};
use faasrt_streams::{Phase, RestartPolicy, Streams};
use std::sync::Arc;
use std::time::Duration;

const RECORDS: usize = 20_000;

/// Runs the chaos stream over `lines` with `plan`; its output and its
/// stage-1 state.
async fn run_with_faults(
    replicas: u32,
    lines: &[String],
    plan: Option<Arc<FaultPlan>>,
) -> (Vec<String>, std::collections::BTreeMap<String, u64>, u64) {
    let (_runtime, streams) =
        streams_with(RuntimeConfig::in_memory(), &["cat", "word-count"]).await;
    streams.set_restart_policy(RestartPolicy {
        max_failures: 1_000,
        window: Duration::from_secs(60),
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    });
    if let Some(plan) = &plan {
        streams.set_faults(Some(plan.clone()));
    }
    let spec = format!(
        r#"{{"stages": [{{"function": "cat", "replicas": {replicas}}}, {{"function": "word-count", "replicas": {replicas}, "key": {{"field": 0}}}}], "checkpoint_interval_ms": 100}}"#
    );
    streams.create("chaos", spec.as_bytes()).expect("create");
    streams.start("chaos").expect("start");
    for chunk in lines.chunks(2_000) {
        streams
            .append("chaos", chunk.concat().as_bytes())
            .expect("append");
    }
    let output = read_output(&streams, "chaos", lines.len()).await;
    let status = streams.drain("chaos").await.expect("drain");
    assert_eq!(status.state, "stopped", "{status:#?}");
    if let Some(plan) = &plan {
        assert_eq!(plan.pending(), 0, "every planned fault fired");
    }
    assert_no_more_output(&streams, lines.len()).await;
    (output, state_of(&streams, "chaos", 1), status.restarts)
}

async fn assert_no_more_output(streams: &Streams, end: usize) {
    let more = streams
        .output("chaos", end as u64, 10, Duration::from_millis(200))
        .await
        .expect("output");
    assert!(
        more.records.is_empty(),
        "output past the input's end: {:?}",
        more.records
    );
}

/// `faults` faults spread over both stages and the commits.
fn plan(faults: u64) -> Arc<FaultPlan> {
    let kinds = [
        InjectedFault::Trap,
        InjectedFault::Timeout,
        InjectedFault::Killed,
    ];
    let mut plan = FaultPlan::new();
    for n in 0..faults {
        let stage = (n % 2) as usize;
        let position = (n * 7_919) % RECORDS as u64;
        plan = if n % 5 == 4 {
            plan.at_commit(1)
        } else {
            plan.at_record(stage, position, kinds[(n % 3) as usize])
        };
    }
    Arc::new(plan)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_change_nothing_in_state_or_output() {
    let lines = zipf_lines(42, RECORDS, 1_000);
    let expected = expected_counts(&lines);
    // One replica per stage: the output's order is the input's, so runs
    // compare byte for byte.
    let (clean, clean_state, restarts) = run_with_faults(1, &lines, None).await;
    assert_eq!(restarts, 0);
    assert_eq!(clean_state, expected, "the fault-free run counts right");
    for faults in [1, 10, 100] {
        let (output, state, restarts) = run_with_faults(1, &lines, Some(plan(faults))).await;
        assert!(restarts >= 1, "{faults} faults restarted the stream");
        assert_eq!(state, clean_state, "state after {faults} faults");
        assert_eq!(output, clean, "output after {faults} faults, byte for byte");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_in_replicated_stages_keep_each_keys_sequence() {
    let lines = zipf_lines(9, RECORDS, 1_000);
    let expected = expected_counts(&lines);
    let (output, state, restarts) = run_with_faults(2, &lines, Some(plan(10))).await;
    assert!(restarts >= 1);
    assert_eq!(state, expected);
    // Across replicas the interleaving is the threads' and may differ
    // between runs; per key the order is the input's, each count once.
    let sequences = per_key(&output);
    for (key, count) in &expected {
        assert_eq!(
            sequences[key],
            (1..=*count).collect::<Vec<_>>(),
            "key {key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_always_traps_fails_the_stream_with_its_cause() {
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    runtime
        .deploy(
            "boom",
            faasrt_testkit::fixtures::trap_module().into(),
            Default::default(),
        )
        .await
        .expect("deploy");
    streams
        .create(
            "doomed",
            br#"{"stages": [{"function": "cat"}, {"function": "boom"}]}"#,
        )
        .expect("create");
    streams.start("doomed").expect("start");
    streams.append("doomed", b"one\n").expect("append");
    let status = wait_phase(&streams, "doomed", Phase::Failed).await;
    let failure = status.failure.expect("a cause");
    assert!(failure.message.contains("trapped"), "{failure:?}");
    assert!(failure.message.contains("5 failures"), "{failure:?}");
    assert_eq!((failure.stage, failure.exit_code), (Some(1), Some(134)));
    assert_eq!(status.checkpoint.epoch, 0, "nothing was committed");
    assert!(
        streams
            .output("doomed", 0, 10, Duration::ZERO)
            .await
            .expect("output")
            .records
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeployed_function_fails_the_stream_at_once() {
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat", "upper"]).await;
    streams
        .create(
            "pinned",
            br#"{"stages": [{"function": "upper"}], "checkpoint_interval_ms": 100}"#,
        )
        .expect("create");
    streams.start("pinned").expect("start");
    streams.append("pinned", b"a\n").expect("append");
    assert_eq!(read_output(&streams, "pinned", 1).await, ["A\n"]);
    runtime
        .deploy(
            "upper",
            faasrt_testkit::fixtures::example("cat").into(),
            Default::default(),
        )
        .await
        .expect("redeploy");
    streams.append("pinned", b"b\n").expect("append");
    let status = wait_phase(&streams, "pinned", Phase::Failed).await;
    assert_eq!(
        status.restarts, 0,
        "restarting cannot mend a changed digest"
    );
    assert!(
        status
            .failure
            .expect("cause")
            .message
            .contains("redeployed")
    );
}
