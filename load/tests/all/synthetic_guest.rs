//! The calibrated synthetic guest playing a workload's demands:
//! `faasrt-load run --synthetic-function`, in process against the
//! `synthetic` example.

use super::rows;
use std::process::Command;

fn faasrt_load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faasrt-load"))
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

#[test]
fn every_invocation_runs_for_its_duration_and_answers_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"duration_s": 1, "functions": [
            {"function": "slow", "rate": {"constant": 20}, "arrivals": "regular", "active": [[0, 0.5]], "duration_ms": 30, "memory_mb": 4, "output_bytes": 5000},
            {"function": "quick", "rate": {"constant": 20}, "arrivals": "regular", "active": [[0.5, 1]], "output_bytes": 10}]}"#,
    )
    .unwrap();
    let synthetic = faasrt_example_artifacts::get("synthetic").expect("the synthetic example");
    let out = dir.path().join("run");
    let output = faasrt_load()
        .args(["run", "--in-process", "--synthetic-function", "synthetic"])
        .arg("--module")
        .arg(format!("synthetic={}", synthetic.path().display()))
        .arg("--synthetic")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("calibrated synthetic"), "{stdout}");
    assert!(stdout.contains("20 succeeded"), "{stdout}");
    let calibration: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap())
            .unwrap();
    assert!(
        calibration["ns_per_unit"].as_f64().unwrap() > 0.0,
        "{calibration}"
    );
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("ns_per_unit"), "{manifest}");
    // The schedule keeps the demands; the guest got them as work.
    let schedule = std::fs::read_to_string(out.join("schedule.csv")).unwrap();
    assert!(schedule.contains(",30000,4194304,0,5000"), "{schedule}");

    let rows = rows(&out.join("invocations.csv"));
    let latency = |function: &str| -> Vec<u64> {
        rows.iter()
            .filter(|r| r["trace_function"] == function)
            .map(|r| {
                assert_eq!(r["function"], "synthetic");
                r["latency_ns"].parse().unwrap()
            })
            .collect()
    };
    for row in &rows {
        let expected = if row["trace_function"] == "slow" {
            "5000"
        } else {
            "10"
        };
        assert_eq!(row["response_bytes"], expected, "{row:?}");
    }
    let (slow, quick) = (median(latency("slow")), median(latency("quick")));
    // 30 ms of work shows, however noisy the machine (loose bounds: the
    // figures themselves are the benchmark's). The two run in turn, so a
    // quick one never waits behind a slow one.
    assert!(slow >= 15_000_000, "slow {slow} ns");
    assert!(
        slow > quick + 10_000_000,
        "slow {slow} ns, quick {quick} ns"
    );
}

#[test]
fn a_workload_without_demands_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": 10}}]}"#,
    )
    .unwrap();
    let synthetic = faasrt_example_artifacts::get("synthetic").expect("the synthetic example");
    let output = faasrt_load()
        .args(["run", "--in-process", "--synthetic-function", "synthetic"])
        .arg("--module")
        .arg(format!("synthetic={}", synthetic.path().display()))
        .arg("--synthetic")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has none"), "{stderr}");
}

#[test]
fn calibrating_a_function_that_is_not_the_synthetic_guest_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"duration_s": 1, "functions": [{"function": "f", "rate": {"constant": 10}, "duration_ms": 1}]}"#,
    )
    .unwrap();
    let hello = faasrt_example_artifacts::get("hello").unwrap();
    let output = faasrt_load()
        .args(["run", "--in-process", "--synthetic-function", "hello"])
        .arg("--module")
        .arg(format!("hello={}", hello.path().display()))
        .arg("--synthetic")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is hello the synthetic example"),
        "{stderr}"
    );
}
