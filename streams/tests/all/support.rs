//! What the streams tests share: a runtime with the examples a stream
//! needs, a seeded Zipf-like record generator, and helpers that wait for a
//! stream with a deadline.

use faasrt_runtime::{DeployOptions, Runtime, RuntimeConfig};
use faasrt_streams::{Phase, StreamStatus, Streams};
use faasrt_testkit::fixtures::example;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long any wait of these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A runtime (in memory, or on `config`) with `names` deployed from the
/// examples, and its streams.
pub async fn streams_with(config: RuntimeConfig, names: &[&str]) -> (Runtime, Streams) {
    let runtime = Runtime::open(config).expect("runtime");
    for name in names {
        if runtime.get(name).is_err() {
            runtime
                .deploy(name, example(name).into(), DeployOptions::default())
                .await
                .expect("deploy");
        }
    }
    let streams = Streams::open(runtime.clone()).expect("streams");
    (runtime, streams)
}

/// Records `n` lines `k<rank>\n` whose ranks follow a seeded Zipf-like
/// (log-uniform) law over `keys` keys: a few keys are hot, most are rare.
pub fn zipf_lines(seed: u64, n: usize, keys: u64) -> Vec<String> {
    faasrt_testkit::zipf::ZipfRanks::new(seed, keys)
        .take(n)
        .map(|rank| format!("k{rank}\n"))
        .collect()
}

/// What a keyed count must end with: each key's count.
pub fn expected_counts(lines: &[String]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.trim_end().to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Waits until the stream is in `phase`.
pub async fn wait_phase(streams: &Streams, name: &str, phase: Phase) -> StreamStatus {
    let started = Instant::now();
    loop {
        let status = streams.status(name).expect("status");
        if status.state == phase.label() {
            return status;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "stream {name} never reached {}: {status:#?}",
            phase.label()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads the committed output from offset 0 until it holds `count`
/// records, then checks no more come within one more epoch.
pub async fn read_output(streams: &Streams, name: &str, count: usize) -> Vec<String> {
    let started = Instant::now();
    let mut lines = Vec::new();
    while lines.len() < count {
        assert!(
            started.elapsed() < DEADLINE,
            "stream {name}: {} of {count} output records: {:#?}",
            lines.len(),
            streams.status(name).expect("status")
        );
        let chunk = streams
            .output(name, lines.len() as u64, 10_000, Duration::from_millis(500))
            .await
            .expect("output");
        for record in chunk.records {
            assert_eq!(record.offset, lines.len() as u64, "offsets count records");
            lines.push(String::from_utf8(record.value).expect("utf-8"));
        }
    }
    lines
}

/// The committed state of stage `stage` as key → text value.
pub fn state_of(streams: &Streams, name: &str, stage: u32) -> BTreeMap<String, u64> {
    streams
        .state(name)
        .expect("state")
        .into_iter()
        .filter(|entry| entry.stage == stage)
        .map(|entry| {
            (
                String::from_utf8(entry.key).expect("utf-8 key"),
                String::from_utf8(entry.value)
                    .expect("utf-8")
                    .parse()
                    .expect("a count"),
            )
        })
        .collect()
}

/// Per key, the counts a keyed count emitted, in order.
pub fn per_key(lines: &[String]) -> BTreeMap<String, Vec<u64>> {
    let mut sequences: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in lines {
        let (key, count) = line.trim_end().split_once(' ').expect("KEY COUNT");
        sequences
            .entry(key.to_owned())
            .or_default()
            .push(count.parse().expect("a count"));
    }
    sequences
}

/// One life of a server: a tokio runtime of its own, so that dropping it
/// stops every task where it is, as `kill -9` would.
pub fn server_life() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}
