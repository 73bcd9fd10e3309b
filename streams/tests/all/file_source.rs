//! File sources: a stream that reads a file in the source directory into
//! its input log, exactly once across stops and restarts of the whole
//! runtime, drains at the file's end or follows it as it grows, and fails
//! with the reason when the file is truncated; and what a spec or a
//! request can get wrong about one.

use crate::support::*;
use faasrt_runtime::RuntimeConfig;
use faasrt_streams::{Phase, StreamError, Streams};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const COUNT: &str = r#"{"stages": [{"function": "word-count", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100, "source": {"file": "events/input.log"}}"#;

fn write_lines(dir: &Path, lines: &[String]) {
    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::write(dir.join("events/input.log"), lines.concat()).unwrap();
}

/// The counts that a keyed count's output ends with for each key.
fn last_counts(output: &[String]) -> std::collections::BTreeMap<String, u64> {
    per_key(output)
        .into_iter()
        .map(|(key, counts)| (key, *counts.last().unwrap()))
        .collect()
}

async fn open(data: &Path, sources: &Path) -> (faasrt_runtime::Runtime, Streams) {
    let (runtime, streams) = streams_with(RuntimeConfig::new(data), &["word-count"]).await;
    streams.set_source_dir(sources.to_owned());
    (runtime, streams)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_read_once_and_the_stream_drains_at_its_end() {
    let data = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    let mut lines = zipf_lines(7, 30_000, 500);
    // A last line without a newline is a record too.
    lines.push("k1".into());
    write_lines(sources.path(), &lines);
    let (_runtime, streams) = open(data.path(), sources.path()).await;
    streams.create("count", COUNT.as_bytes()).expect("create");
    streams.start("count").expect("start");
    let stopped = wait_phase(&streams, "count", Phase::Stopped).await;
    assert_eq!(stopped.checkpoint.source_offset, lines.len() as u64);
    let output = read_output(&streams, "count", lines.len()).await;
    assert_eq!(state_of(&streams, "count", 0), expected_counts(&lines));
    assert_eq!(last_counts(&output), expected_counts(&lines));
    // Records cannot be posted to a stream that reads a file.
    assert!(matches!(
        streams.append("count", b"k1\n"),
        Err(StreamError::FileSource { .. })
    ));
    // Started again, it finds the file read and drains at once: nothing twice.
    streams.start("count").expect("start again");
    wait_phase(&streams, "count", Phase::Stopped).await;
    assert_eq!(
        streams.status("count").unwrap().checkpoint.source_offset,
        lines.len() as u64
    );
}

/// Opens the runtime and streams on `data`, waiting (bounded) for a
/// previous life's blocking threads to let go of the store.
async fn reopen(data: &Path, sources: &Path) -> (faasrt_runtime::Runtime, Streams) {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        match faasrt_runtime::Runtime::open(RuntimeConfig::new(data)) {
            Ok(runtime) => {
                drop(runtime);
                return open(data, sources).await;
            }
            Err(faasrt_runtime::RuntimeError::DataDir { .. })
                if std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("reopen: {error}"),
        }
    }
}

#[test]
fn stops_and_crashes_mid_file_neither_skip_nor_repeat_a_record() {
    let data = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    // About 6 MB: several reads of the file, each its own append.
    let lines = zipf_lines(11, 1_000_000, 2_000);
    write_lines(sources.path(), &lines);
    let total = lines.len() as u64;
    let mut mid_file = 0;
    // Life 1 is stopped mid-file, lives 2 and 3 die mid-file (their whole
    // tokio runtime dropped), life 4 resumes and reads to the end.
    for life in 1..=3 {
        let server = server_life();
        server.block_on(async {
            let (_runtime, streams) = reopen(data.path(), sources.path()).await;
            if life == 1 {
                streams.create("count", COUNT.as_bytes()).expect("create");
                streams.start("count").expect("start");
            } else {
                assert_eq!(
                    streams.resume(),
                    ["count"],
                    "life {life}: {:#?}",
                    streams.status("count")
                );
            }
            // Until the file is partly in the input log (or the stream is
            // past it).
            let read_at_start = streams.status("count").unwrap().input.end;
            let started = std::time::Instant::now();
            loop {
                let status = streams.status("count").unwrap();
                assert_ne!(
                    status.state, "stopped",
                    "life {life}: the stream ended early"
                );
                if status.input.end > read_at_start || status.state == "draining" {
                    if status.input.end < total {
                        mid_file += 1;
                    }
                    break;
                }
                assert!(started.elapsed() < DEADLINE, "life {life}: {status:#?}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if life == 1 {
                streams.stop("count").await.expect("stop");
                streams.start("count").expect("start");
            }
        });
        server.shutdown_background();
    }
    assert!(
        mid_file > 0,
        "at least one life ended with the file partly read"
    );
    server_life().block_on(async {
        let (_runtime, streams) = reopen(data.path(), sources.path()).await;
        assert_eq!(streams.resume(), ["count"]);
        wait_phase(&streams, "count", Phase::Stopped).await;
        let output = read_output(&streams, "count", lines.len()).await;
        assert_eq!(
            output.len(),
            lines.len(),
            "one output record per input line"
        );
        assert_eq!(state_of(&streams, "count", 0), expected_counts(&lines));
        for (key, counts) in per_key(&output) {
            let expected: Vec<u64> = (1..=counts.len() as u64).collect();
            assert_eq!(counts, expected, "key {key}: each count once, in order");
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_file_is_read_as_it_grows_and_a_truncation_fails_the_stream() {
    let data = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    write_lines(sources.path(), &["a 1\n".to_owned()]);
    let (_runtime, streams) = open(data.path(), sources.path()).await;
    let spec = COUNT.replace(
        r#""events/input.log"}"#,
        r#""events/input.log", "follow": true}"#,
    );
    streams.create("tail", spec.as_bytes()).expect("create");
    streams.start("tail").expect("start");
    assert_eq!(read_output(&streams, "tail", 1).await, ["a 1\n"]);
    let path = sources.path().join("events/input.log");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    // Half a line waits for its end.
    file.write_all(b"b 1\nc").unwrap();
    file.flush().unwrap();
    assert_eq!(read_output(&streams, "tail", 2).await[1], "b 1\n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        streams.status("tail").unwrap().input.end,
        2,
        "no half record"
    );
    file.write_all(b" 1\na 2\n").unwrap();
    file.flush().unwrap();
    let mut output = read_output(&streams, "tail", 4).await;
    // Two replicas: order is kept per key, not across keys.
    output[2..].sort();
    assert_eq!(&output[2..], ["a 2\n", "c 1\n"]);
    assert_eq!(streams.status("tail").unwrap().state, "running");
    // Truncated below what was read: the stream fails and says why.
    std::fs::write(&path, "x\n").unwrap();
    let failed = wait_phase(&streams, "tail", Phase::Failed).await;
    let message = failed.failure.expect("a failure").message;
    assert!(message.contains("truncated"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_be_read_is_refused_at_create() {
    let data = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    let (_runtime, streams) = open(data.path(), sources.path()).await;
    let missing = COUNT.replace("events/input.log", "missing.log");
    match streams.create("count", missing.as_bytes()) {
        Err(StreamError::SourceFile { file, reason }) => {
            assert_eq!(file, "missing.log");
            assert!(!reason.is_empty());
        }
        other => panic!("a missing file must be refused, got {other:?}"),
    }
    let escape = COUNT.replace("events/input.log", "../etc/passwd");
    assert!(matches!(
        streams.create("count", escape.as_bytes()),
        Err(StreamError::Spec(_))
    ));
    assert!(streams.status("count").is_err(), "nothing was stored");
}
