//! `faasrt stream` against a real `faasrt serve`: a keyed word count
//! created, fed and read with the CLI, through a `kill -9` of the server
//! in the middle, ending with the same state and output as a run without
//! it.

use crate::cli::Serve;
use crate::support::{Http, example};
use hyper::StatusCode;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SPEC: &str = r#"{"stages": [{"function": "words"}, {"function": "word-count", "replicas": 2, "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;

fn deploy(server: &Serve) {
    let http = Http::new(server.addr(), Some(server.token()));
    tokio::runtime::Runtime::new()
        .expect("tokio")
        .block_on(async {
            for name in ["words", "word-count"] {
                assert_eq!(
                    http.deploy(name, example(name)).await.status,
                    StatusCode::CREATED
                );
            }
        });
}

fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "faasrt failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// `faasrt stream output` until it holds `count` lines.
fn output_lines(server: &Serve, count: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let text = ok(&server.faasrt(&["stream", "output", "wc"], b""));
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= count {
            return lines;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let status = server.faasrt(&["stream", "status", "wc"], b"");
            panic!(
                "{} of {count} lines; status: {}",
                lines.len(),
                String::from_utf8_lossy(&status.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_stream_survives_kill_9_of_the_server() {
    let server = Serve::start_with(&[]);
    deploy(&server);
    let spec = server.data_dir.path().join("wc.json");
    std::fs::write(&spec, SPEC).expect("spec");
    let created = ok(&server.faasrt(
        &["stream", "create", "wc", spec.to_str().expect("path")],
        b"",
    ));
    assert!(created.contains("wc: created"), "{created}");
    ok(&server.faasrt(&["stream", "start", "wc"], b""));
    // 300 lines of 4 words from 7: counts to check at the end.
    let words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta"];
    let lines: Vec<String> = (0..300)
        .map(|i| {
            (0..4)
                .map(|j| words[(i * 3 + j * 5) % 7])
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for word in lines.iter().flat_map(|l| l.split_whitespace()) {
        *expected.entry(word.to_owned()).or_insert(0) += 1;
    }
    let sent = ok(&server.faasrt(&["stream", "send", "wc"], lines[..200].concat().as_bytes()));
    assert!(sent.contains("200 records appended"), "{sent}");
    // kill -9 right after an append: its epoch cannot have committed.
    let data_dir = server.kill_9();
    let server = Serve::start_in(data_dir, &[]);
    ok(&server.faasrt(&["stream", "send", "wc"], lines[200..].concat().as_bytes()));
    let output = output_lines(&server, 1_200);
    assert_eq!(output.len(), 1_200, "each word's count exactly once");
    let drained = ok(&server.faasrt(&["stream", "drain", "wc"], b""));
    assert!(drained.contains("wc: stopped"), "{drained}");
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for line in &output {
        let (word, count) = line.split_once(' ').expect("WORD COUNT");
        let count: u64 = count.parse().expect("count");
        let previous = last.insert(word.to_owned(), count).unwrap_or(0);
        assert_eq!(count, previous + 1, "{word}'s counts go up by one");
    }
    assert_eq!(last, expected);
    let status = ok(&server.faasrt(&["--json", "stream", "status", "wc"], b""));
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(status["input"]["lag"], 0);
    let listed = ok(&server.faasrt(&["stream", "ls"], b""));
    assert!(
        listed.contains("wc") && listed.contains("stopped"),
        "{listed}"
    );
    let scaled = ok(&server.faasrt(&["stream", "scale", "wc", "1", "3"], b""));
    assert!(scaled.contains("2 -> 3 replicas"), "{scaled}");
    ok(&server.faasrt(&["stream", "rm", "wc"], b""));
    let gone = server.faasrt(&["stream", "status", "wc"], b"");
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("does not exist"));
}
