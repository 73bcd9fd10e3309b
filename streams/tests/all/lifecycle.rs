//! A stream's life: created, started, fed, drained, restarted from its
//! checkpoint, rescaled while it runs, and deleted.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::{Phase, StreamError};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_filter_runs_as_a_stateless_stage() {
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["upper", "grep"]).await;
    let spec = br#"{"stages": [{"function": "grep", "args": ["keep"]}, {"function": "upper", "replicas": 2}], "checkpoint_interval_ms": 100}"#;
    let (status, created) = streams.create("shout", spec).expect("create");
    assert!(created);
    assert_eq!(status.state, "created");
    streams.start("shout").expect("start");
    let ack = streams
        .append("shout", b"keep one\ndrop two\nkeep three")
        .expect("append");
    assert_eq!((ack.first_offset, ack.next_offset, ack.records), (0, 3, 3));
    let mut lines = read_output(&streams, "shout", 2).await;
    lines.sort();
    assert_eq!(lines, ["KEEP ONE\n", "KEEP THREE\n"]);
    let drained = streams.drain("shout").await.expect("drain");
    assert_eq!(drained.state, "stopped");
    assert_eq!(drained.checkpoint.source_offset, 3);
    assert_eq!(drained.input.lag, 0);
    let grep = &drained.stages[0].replicas[0];
    assert_eq!((grep.records_in, grep.records_out), (3, 2));
    let hop = grep.hop_p50_us.expect("the hop into grep is measured");
    assert!(hop > 0.0 && grep.hop_p99_us.expect("p99") >= hop);
    let upper: u64 = drained.stages[1]
        .replicas
        .iter()
        .map(|r| r.records_in)
        .sum();
    assert_eq!(upper, 2);
    // Records appended while stopped wait in the log for the next start.
    streams.append("shout", b"keep four\n").expect("append");
    streams.start("shout").expect("restart");
    assert_eq!(read_output(&streams, "shout", 3).await[2], "KEEP FOUR\n");
    streams.stop("shout").await.expect("stop");
    assert!(matches!(
        streams.drain("shout").await,
        Err(StreamError::WrongState { .. })
    ));
    streams.remove("shout").expect("remove");
    assert!(matches!(
        streams.status("shout"),
        Err(StreamError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_takes_everything_the_log_held_when_it_was_asked() {
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    streams
        .create("all", br#"{"stages": [{"function": "cat"}]}"#)
        .expect("create");
    // Many source batches' worth, appended before the start, drained at once.
    let lines = zipf_lines(1, 20_000, 100);
    for chunk in lines.chunks(5_000) {
        streams
            .append("all", chunk.concat().as_bytes())
            .expect("append");
    }
    streams.start("all").expect("start");
    let drained = streams.drain("all").await.expect("drain");
    assert_eq!(drained.state, "stopped", "{drained:#?}");
    assert_eq!(drained.checkpoint.source_offset, lines.len() as u64);
    assert_eq!(drained.checkpoint.output_end, lines.len() as u64);
    assert_eq!(read_output(&streams, "all", lines.len()).await, lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_count_keeps_exact_state_across_replicas() {
    let (_runtime, streams) =
        streams_with(RuntimeConfig::in_memory(), &["words", "word-count"]).await;
    let spec = br#"{"stages": [{"function": "words"}, {"function": "word-count", "replicas": 3, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
    streams.create("wc", spec).expect("create");
    streams.start("wc").expect("start");
    streams
        .append("wc", b"the cat and the hat\nThe end\n")
        .expect("append");
    let lines = read_output(&streams, "wc", 7).await;
    let sequences = per_key(&lines);
    assert_eq!(
        sequences["the"],
        [1, 2, 3],
        "each key's counts in order, once"
    );
    assert_eq!(sequences["cat"], [1]);
    streams.drain("wc").await.expect("drain");
    let state = state_of(&streams, "wc", 1);
    assert_eq!(state["the"], 3);
    assert_eq!(state.values().sum::<u64>(), 7);
}

#[test]
fn a_restarted_server_resumes_running_streams_from_their_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || RuntimeConfig::new(dir.path());
    let lines = zipf_lines(7, 3_000, 200);
    let expected = expected_counts(&lines);
    // Life 1: a server that dies mid-stream (its whole tokio runtime is
    // dropped: every task stops where it is, as under kill -9).
    {
        let life = server_life();
        life.block_on(async {
            let (_runtime, streams) = streams_with(config(), &["cat", "word-count"]).await;
            let spec = br#"{"stages": [{"function": "cat"}, {"function": "word-count", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
            streams.create("wc", spec).expect("create");
            streams.start("wc").expect("start");
            for chunk in lines.chunks(500) {
                tokio::time::sleep(Duration::from_millis(60)).await;
                streams.append("wc", chunk.concat().as_bytes()).expect("append");
            }
            // The last chunk was appended just now: its epoch cannot have
            // committed yet, so the crash below loses an epoch in flight.
            let at_crash = streams.status("wc").expect("status");
            assert!(at_crash.checkpoint.output_end < lines.len() as u64, "{at_crash:#?}");
            assert_eq!(at_crash.input.end, lines.len() as u64);
        });
        life.shutdown_background();
    }
    std::thread::sleep(Duration::from_millis(200));
    // Life 2: the stream resumes by itself and ends as if nothing happened.
    server_life().block_on(async {
        let (_runtime, streams) = streams_with(config(), &["cat", "word-count"]).await;
        assert_eq!(streams.resume(), ["wc"]);
        let output = read_output(&streams, "wc", lines.len()).await;
        streams.drain("wc").await.expect("drain");
        assert_eq!(state_of(&streams, "wc", 1), expected);
        let sequences = per_key(&output);
        for (key, count) in &expected {
            assert_eq!(
                sequences[key],
                (1..=*count).collect::<Vec<_>>(),
                "key {key}"
            );
        }
        assert_eq!(
            output.len(),
            lines.len(),
            "no output record lost or repeated"
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescaling_while_running_moves_the_fewest_slots_and_loses_nothing() {
    let (_runtime, streams) =
        streams_with(RuntimeConfig::in_memory(), &["cat", "word-count"]).await;
    let spec = br#"{"stages": [{"function": "cat"}, {"function": "word-count", "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;
    streams.create("wc", spec).expect("create");
    streams.start("wc").expect("start");
    let lines = zipf_lines(11, 5_000, 300);
    let expected = expected_counts(&lines);
    let mut owned: Vec<usize> = vec![faasrt_streams::router::SLOTS];
    for (chunk, replicas) in lines.chunks(1_000).zip([2u32, 4, 3, 1, 1]) {
        streams
            .append("wc", chunk.concat().as_bytes())
            .expect("append");
        let rescaled = streams.scale("wc", 1, replicas).await.expect("scale");
        assert_eq!(rescaled.replicas, replicas);
        // The fewest moves: every replica keeps what fits its new share.
        let m = replicas as usize;
        let share = |r: usize| {
            faasrt_streams::router::SLOTS / m + usize::from(r < faasrt_streams::router::SLOTS % m)
        };
        let minimum: usize = owned
            .iter()
            .enumerate()
            .map(|(r, n)| {
                if r < m {
                    n.saturating_sub(share(r))
                } else {
                    *n
                }
            })
            .sum();
        assert_eq!(rescaled.slots_moved, minimum, "{owned:?} -> {m}");
        owned = (0..m).map(share).collect();
        assert_eq!(
            streams.status("wc").expect("status").stages[1]
                .replicas
                .len(),
            m
        );
    }
    let output = read_output(&streams, "wc", lines.len()).await;
    streams.drain("wc").await.expect("drain");
    assert_eq!(state_of(&streams, "wc", 1), expected);
    assert_eq!(output.len(), lines.len());
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
async fn a_stage_waits_for_a_free_instance_instead_of_failing() {
    // One instance slot for two stages: each waits for the other's slot.
    let (_runtime, streams) = streams_with(
        RuntimeConfig::in_memory().max_instances(1),
        &["cat", "upper"],
    )
    .await;
    streams
        .create(
            "tight",
            br#"{"stages": [{"function": "cat"}, {"function": "upper"}], "checkpoint_interval_ms": 100}"#,
        )
        .expect("create");
    streams.start("tight").expect("start");
    let lines = zipf_lines(3, 2_000, 50);
    for chunk in lines.chunks(100) {
        streams
            .append("tight", chunk.concat().as_bytes())
            .expect("append");
    }
    let output = read_output(&streams, "tight", lines.len()).await;
    let upper: Vec<String> = lines.iter().map(|l| l.to_uppercase()).collect();
    assert_eq!(output, upper, "one replica per stage keeps the order");
    let status = streams.drain("tight").await.expect("drain");
    assert_eq!(status.restarts, 0);
    assert_eq!(status.state, Phase::Stopped.label());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_records_caps_the_records_of_one_invocation() {
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    streams
        .create(
            "small",
            br#"{"stages": [{"function": "cat"}], "batch_records": 7}"#,
        )
        .expect("create");
    let lines = zipf_lines(4, 100, 10);
    streams
        .append("small", lines.concat().as_bytes())
        .expect("append");
    streams.start("small").expect("start");
    let drained = streams.drain("small").await.expect("drain");
    let cat = &drained.stages[0].replicas[0];
    assert_eq!(cat.records_in, 100);
    // 100 records in batches of at most 7: at least 15 invocations.
    assert!(cat.invocations >= 15, "{cat:?}");
    assert_eq!(read_output(&streams, "small", 100).await, lines);
}
