//! Bad input is refused with an error that says what is wrong, and nothing
//! of it is stored.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::{SpecError, StreamError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_and_unknown_functions_store_nothing() {
    let (_runtime, streams) = streams_with(RuntimeConfig::in_memory(), &["cat"]).await;
    assert!(matches!(
        streams.create("s", b"{not json"),
        Err(StreamError::Spec(SpecError::Json(_)))
    ));
    assert!(matches!(
        streams.create(
            "s",
            br#"{"stages": [{"function": "cat"}, {"function": "nope"}]}"#
        ),
        Err(StreamError::UnknownFunction { stage: 2, .. })
    ));
    assert!(matches!(
        streams.create("Bad Name", br#"{"stages": [{"function": "cat"}]}"#),
        Err(StreamError::InvalidName { .. })
    ));
    assert!(streams.list().expect("list").is_empty());
    streams
        .create("s", br#"{"stages": [{"function": "cat"}]}"#)
        .expect("create");
    let (_, created) = streams
        .create("s", br#"{"stages": [{"function": "cat"}]}"#)
        .expect("the same spec again");
    assert!(!created);
    assert!(matches!(
        streams.create("s", br#"{"stages": [{"function": "cat", "replicas": 2}]}"#),
        Err(StreamError::WrongState { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_refused_whole() {
    let (_runtime, streams) =
        streams_with(RuntimeConfig::in_memory(), &["cat", "word-count"]).await;
    streams
        .create(
            "keyed",
            br#"{"stages": [{"function": "word-count", "key": {"field": 1}}]}"#,
        )
        .expect("create");
    streams.append("keyed", b"a 1\n").expect("a good record");
    // The second line has no field 1: the whole request is refused.
    let error = streams
        .append("keyed", b"b 2\nlonely\n")
        .expect_err("refused");
    assert!(error.to_string().contains("field 1"), "{error}");
    let big = vec![b'x'; faasrt_streams::framing::DEFAULT_MAX_RECORD_BYTES + 1];
    let error = streams.append("keyed", &big).expect_err("refused");
    assert!(
        error.to_string().contains("longer than the limit"),
        "{error}"
    );
    assert_eq!(streams.status("keyed").expect("status").input.end, 1);
    streams
        .create(
            "framed",
            br#"{"stages": [{"function": "word-count", "key": {}}], "framing": "frames"}"#,
        )
        .expect("create");
    let error = streams
        .append("framed", b"\x05\0\0\0ab")
        .expect_err("truncated");
    assert!(error.to_string().contains("ends inside"), "{error}");
    assert_eq!(streams.status("framed").expect("status").input.end, 0);
    assert!(matches!(
        streams.append("missing", b"x\n"),
        Err(StreamError::NotFound { .. })
    ));
}

/// A stream with one stage, `stage`, that answers `answer` to every batch.
async fn misbehaving(keyed: bool, framing: &str, answer: &[u8]) -> faasrt_streams::StreamStatus {
    let (runtime, streams) = streams_with(RuntimeConfig::in_memory(), &[]).await;
    runtime
        .deploy(
            "stage",
            faasrt_testkit::fixtures::answer_module(answer).into(),
            Default::default(),
        )
        .await
        .expect("deploy");
    let key = match (keyed, framing) {
        (false, _) => "",
        (true, "lines") => r#", "key": {"field": 0}"#,
        (true, _) => r#", "key": {}"#,
    };
    let spec = format!(r#"{{"stages": [{{"function": "stage"{key}}}], "framing": "{framing}"}}"#);
    streams.create("s", spec.as_bytes()).expect("create");
    streams.start("s").expect("start");
    let record: &[u8] = if framing == "lines" {
        b"a\n"
    } else {
        b"\x01\0\0\0a\x01\0\0\0v"
    };
    streams.append("s", record).expect("append");
    wait_phase(&streams, "s", faasrt_streams::Phase::Failed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_that_breaks_the_record_api_fails_at_once_with_the_reason() {
    let cases: [(bool, &str, &[u8], &str); 3] = [
        // State of a key that is not in the batch.
        (
            true,
            "lines",
            b"P\x01\0\0\0z\x01\0\0\0v",
            "not a key of its batch",
        ),
        // State written by a stage without a key.
        (false, "frames", b"P\x01\0\0\0a\x01\0\0\0v", "not keyed"),
        // An answer that is not the record protocol.
        (true, "lines", b"hello\n", "record protocol"),
    ];
    for (keyed, framing, answer, reason) in cases {
        let status = misbehaving(keyed, framing, answer).await;
        let failure = status.failure.expect("a cause");
        assert!(failure.message.contains(reason), "{reason}: {failure:?}");
        assert_eq!(status.restarts, 0, "{reason}: restarting cannot mend it");
        assert_eq!(status.checkpoint.epoch, 0, "{reason}: nothing committed");
    }
}
