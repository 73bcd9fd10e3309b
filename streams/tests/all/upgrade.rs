//! Upgrading a stage at a barrier: its state carries over to the new
//! function, and an upgrade that fails before its first checkpoint is
//! rolled back to the function it replaced, losing nothing.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::{Phase, StreamError};
use faasrt_testkit::fixtures::{example, trap_module};

const SPEC: &[u8] = br#"{"stages": [{"function": "cat"}, {"function": "word-count", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_stage_keeps_its_state() {
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat", "word-count"]).await;
    let v2 = runtime
        .deploy(
            "word-count-v2",
            example("word-count").into(),
            Default::default(),
        )
        .await
        .expect("deploy v2");
    streams.create("wc", SPEC).expect("create");
    streams.start("wc").expect("start");
    let lines = zipf_lines(21, 4_000, 100);
    streams
        .append("wc", lines[..2_000].concat().as_bytes())
        .expect("append");
    let upgraded = streams
        .upgrade("wc", 1, "word-count-v2")
        .await
        .expect("upgrade");
    assert_eq!(
        (upgraded.from.as_str(), upgraded.function.as_str()),
        ("word-count", "word-count-v2")
    );
    assert_eq!(upgraded.digest, v2.digest);
    streams
        .append("wc", lines[2_000..].concat().as_bytes())
        .expect("append");
    let output = read_output(&streams, "wc", lines.len()).await;
    let status = streams.drain("wc").await.expect("drain");
    assert_eq!(status.spec.stages[1].function, "word-count-v2");
    assert_eq!(status.digests[1], v2.digest);
    assert_eq!(
        state_of(&streams, "wc", 1),
        expected_counts(&lines),
        "counts went on from v1's"
    );
    assert_eq!(output.len(), lines.len());
    assert!(matches!(
        streams.upgrade("wc", 1, "missing").await,
        Err(StreamError::UnknownFunction { .. })
    ));
    assert!(matches!(
        streams.upgrade("wc", 7, "cat").await,
        Err(StreamError::NoSuchStage { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_that_fails_its_first_epoch_is_rolled_back() {
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat", "word-count"]).await;
    runtime
        .deploy("boom", trap_module().into(), Default::default())
        .await
        .expect("deploy");
    streams.create("wc", SPEC).expect("create");
    streams.start("wc").expect("start");
    let lines = zipf_lines(22, 3_000, 100);
    streams
        .append("wc", lines[..1_000].concat().as_bytes())
        .expect("append");
    read_output(&streams, "wc", 1_000).await;
    streams
        .upgrade("wc", 1, "boom")
        .await
        .expect("upgrade at a barrier");
    streams
        .append("wc", lines[1_000..].concat().as_bytes())
        .expect("append");
    let output = read_output(&streams, "wc", lines.len()).await;
    let status = streams.drain("wc").await.expect("drain");
    assert_eq!(status.state, Phase::Stopped.label(), "{status:#?}");
    assert_eq!(status.spec.stages[1].function, "word-count", "rolled back");
    let failure = status.failure.expect("the rollback is reported");
    assert!(failure.message.contains("rolled back"), "{failure:?}");
    assert_eq!(failure.stage, Some(1));
    assert_eq!(state_of(&streams, "wc", 1), expected_counts(&lines));
    assert_eq!(output.len(), lines.len(), "nothing lost or repeated");
}
