//! Where replicas run: pinned to the CPUs a stage names, each on a thread
//! of its own, with the same results as unpinned; and a spec that names a
//! CPU the server may not use is refused.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::{SpecError, StreamError};

/// The CPUs this process may run on (the test machine's affinity).
fn allowed() -> Vec<usize> {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = text
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_owned();
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((from, to)) => cpus.extend(from.parse::<usize>().unwrap()..=to.parse().unwrap()),
            None => cpus.push(part.parse().unwrap()),
        }
    }
    cpus
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_replicas_run_on_their_cpus_and_count_the_same() {
    let cpus = allowed();
    let (_runtime, streams) =
        streams_with(RuntimeConfig::in_memory(), &["words", "word-count"]).await;
    let spec = format!(
        r#"{{"stages": [{{"function": "words"}}, {{"function": "word-count", "replicas": 2, "key": {{"field": 0}}, "cpus": {cpus:?}}}], "checkpoint_interval_ms": 100}}"#
    );
    streams.create("pinned", spec.as_bytes()).expect("create");
    streams.start("pinned").expect("start");
    let lines = zipf_lines(3, 20_000, 300);
    streams
        .append("pinned", lines.concat().as_bytes())
        .expect("append");
    let output = read_output(&streams, "pinned", lines.len()).await;
    let status = streams.drain("pinned").await.expect("drain");
    assert_eq!(state_of(&streams, "pinned", 1), expected_counts(&lines));
    assert_eq!(output.len(), lines.len());
    for (r, replica) in status.stages[1].replicas.iter().enumerate() {
        let cpu = cpus[r % cpus.len()];
        assert_eq!(replica.pinned_cpu, Some(cpu), "replica {r}");
        assert_eq!(
            replica.cpu,
            Some(cpu),
            "replica {r} ran where it was pinned"
        );
        assert_eq!(
            replica.thread.as_deref(),
            Some(format!("faasrt-1.{r}@{cpu}").as_str()),
            "replica {r} has a thread of its own"
        );
    }
    // The unpinned stage says where it ran, and that it is not pinned.
    let words = &status.stages[0].replicas[0];
    assert_eq!(words.pinned_cpu, None);
    assert!(words.cpu.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_the_server_may_not_use_is_refused_at_create() {
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    for cpus in ["[]", "[100000]"] {
        let spec = format!(r#"{{"stages": [{{"function": "cat", "cpus": {cpus}}}]}}"#);
        match streams.create("bad", spec.as_bytes()) {
            Err(StreamError::Spec(SpecError::Cpus { stage, allowed, .. })) => {
                assert_eq!(stage, 1);
                assert_eq!(allowed, self::allowed());
            }
            other => panic!("cpus {cpus} must be refused, got {other:?}"),
        }
    }
    assert!(streams.status("bad").is_err(), "nothing was stored");
}
