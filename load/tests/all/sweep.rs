//! `faasrt-load dataset`: a sweep in process over the examples, its rows,
//! and a sweep stopped half-way that resumes from its checkpoint.

use super::rows;
use std::process::{Command, Output};

fn faasrt_load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faasrt-load"))
}

fn module(name: &str) -> String {
    let example = faasrt_example_artifacts::get(name).expect("an example");
    format!("{name}={}", example.path().display())
}

fn sweep(spec: &std::path::Path, out: &std::path::Path, resume: bool) -> Output {
    let mut command = faasrt_load();
    command
        .args(["dataset", "--in-process", "--module"])
        .arg(module("hello"))
        .arg("--module")
        .arg(module("upper"))
        .arg("--spec")
        .arg(spec)
        .arg("--out")
        .arg(out);
    if resume {
        command.arg("--resume");
    }
    command.output().unwrap()
}

const SPEC: &str = r#"{"repetitions": 2, "functions": [
    {"function": "hello", "args": ["{name}"], "parameters": [{"name": "name", "values": ["ann", "bo", "cy"]}]},
    {"function": "upper", "inputs": [{"text": "x{n}"}, {"file": "input.txt"}],
     "parameters": [{"name": "n", "range": {"from": 1, "to": 3, "step": 1}}]}]}"#;

#[test]
fn every_cell_is_invoked_its_repetitions_and_joined_with_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    std::fs::write(dir.path().join("input.txt"), "file bytes").unwrap();
    let out = dir.path().join("sweep");
    let output = sweep(&spec, &out, false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // 3 names + 2 inputs x 3 values = 9 cells, 2 each.
    assert!(
        stdout.contains("9 cells: 18 invocations, 0 failed, 18 joined"),
        "{stdout}"
    );
    let rows = rows(&out.join("dataset.csv"));
    assert_eq!(rows.len(), 18);
    assert!(out.join("dataset.parquet").exists());
    let hello_bo: Vec<_> = rows
        .iter()
        .filter(|r| r["parameters"] == "name=bo")
        .collect();
    assert_eq!(hello_bo.len(), 2);
    for row in &hello_bo {
        // "Hello, bo!\n"
        assert_eq!(row["response_bytes"], "11", "{row:?}");
        assert_eq!(row["args"], r#"["bo"]"#);
        assert_eq!(row["outcome"], "ok");
        assert!(
            !row["seq"].is_empty() && !row["server_run_ns"].is_empty(),
            "{row:?}"
        );
    }
    let from_file: Vec<_> = rows.iter().filter(|r| r["input"] == "input.txt").collect();
    assert_eq!(from_file.len(), 6);
    assert!(
        from_file
            .iter()
            .all(|r| r["request_bytes"] == "10" && r["response_bytes"] == "10")
    );
    let texts: Vec<&str> = rows
        .iter()
        .filter(|r| r["input"] == "text")
        .map(|r| r["request_bytes"].as_str())
        .collect();
    assert_eq!(texts, vec!["2"; 6]);
    // The cells in their fixed order, repetitions 0 and 1 of each.
    let order: Vec<(usize, u32)> = rows
        .iter()
        .map(|r| (r["cell"].parse().unwrap(), r["repetition"].parse().unwrap()))
        .collect();
    let expected: Vec<(usize, u32)> = (0..9).flat_map(|c| [(c, 0), (c, 1)]).collect();
    assert_eq!(order, expected);
}

#[test]
fn a_stopped_sweep_resumes_from_its_checkpoint_without_redoing_cells() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, SPEC).unwrap();
    let out = dir.path().join("sweep");
    // No input.txt: the sweep stops at the first cell that needs it (cell
    // 6: the three hello cells and upper's three text cells are done).
    let output = sweep(&spec, &out, false);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cell 6") && stderr.contains("input.txt"),
        "{stderr}"
    );
    let checkpoint: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint.json")).unwrap())
            .unwrap();
    assert_eq!(checkpoint["cells_done"], 6);
    let before = std::fs::read_to_string(out.join("rows.jsonl")).unwrap();
    assert_eq!(before.lines().count(), 12);

    // Not without --resume.
    let output = sweep(&spec, &out, false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--resume"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("input.txt"), "file bytes").unwrap();
    let output = sweep(&spec, &out, true);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("resumed after cell 6") && stdout.contains("18 invocations"),
        "{stdout}"
    );
    let after = std::fs::read_to_string(out.join("rows.jsonl")).unwrap();
    // The cells done before were kept as they were, not run again.
    assert!(after.starts_with(&before), "the first rows changed");
    assert_eq!(rows(&out.join("dataset.csv")).len(), 18);

    // Another spec cannot resume this sweep.
    std::fs::write(&spec, SPEC.replace("\"cy\"", "\"di\"")).unwrap();
    let output = sweep(&spec, &out, true);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("another spec"),
        "{stderr}"
    );
}
