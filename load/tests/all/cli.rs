//! The `faasrt-load` binary as a user runs it.

use super::fixture;
use faasrt_load::Schedule;
use std::process::Command;

fn faasrt_load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faasrt-load"))
}

/// The stdout of a run that must have succeeded (its output in the failure
/// message otherwise).
fn succeeded(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn schedule_writes_the_csv_and_says_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schedule.csv");
    let output = faasrt_load()
        .args(["schedule", "--law", "uniform", "--seed", "3", "--azure2019"])
        .arg(fixture("azure2019-invocations.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(stdout.contains("11 invocations of 2 functions"), "{stdout}");
    assert!(stdout.contains("the trace asks for 11"), "{stdout}");
    assert_eq!(Schedule::read_csv(&out).unwrap().entries().len(), 11);
}

#[test]
fn schedule_down_scales_a_trace_to_a_target_rate_and_reports_how_representative_it_stays() {
    let dir = tempfile::tempdir().unwrap();
    // 300 functions over 10 minutes, popularity falling as 1/i: about
    // 12 000 invocations a minute in all.
    let mut trace = String::from("HashOwner,HashApp,HashFunction,Trigger,1,2,3,4,5,6,7,8,9,10\n");
    for i in 1..=300 {
        let trigger = ["http", "timer", "queue"][i % 3];
        let counts: Vec<String> = (0..10).map(|m| (2000 / i + m % 3).to_string()).collect();
        trace.push_str(&format!("o,a{i},f{i},{trigger},{}\n", counts.join(",")));
    }
    let path = dir.path().join("trace.csv");
    std::fs::write(&path, trace).unwrap();
    let out = dir.path().join("schedule.csv");
    let output = faasrt_load()
        .args([
            "schedule",
            "--law",
            "uniform",
            "--target-rate",
            "20",
            "--azure2019",
        ])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(
        stdout.contains("down-scaled (sample-functions)"),
        "{stdout}"
    );
    let scheduled = Schedule::read_csv(&out).unwrap().entries().len();
    // 20/s over 600 s.
    assert!(
        (11_000..=13_000).contains(&scheduled),
        "{scheduled}: {stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("schedule.downscale.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["functions"][0], 300);
    assert!(report["functions"][1].as_u64().unwrap() < 300, "{report}");
    assert!(
        report["per_minute_correlation"].as_f64().unwrap() > 0.5,
        "{report}"
    );
    assert!(
        report["function_rate_ks"].as_f64().unwrap() < 0.5,
        "{report}"
    );
    // Only an Azure 2019 trace can be cut.
    let output = faasrt_load()
        .args(["schedule", "--target-rate", "20", "--azure2021"])
        .arg(fixture("azure2021.csv"))
        .arg("--out")
        .arg(dir.path().join("other.csv"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--azure2019"));
}

#[test]
fn a_malformed_trace_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("bad.csv");
    std::fs::write(&trace, "app,func,end_timestamp,duration\na,f,one,1\n").unwrap();
    let output = faasrt_load()
        .args(["schedule", "--azure2021"])
        .arg(&trace)
        .arg("--out")
        .arg(dir.path().join("s.csv"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.csv: line 2: end_timestamp is \"one\""),
        "{stderr}"
    );
}

#[test]
fn run_sends_a_synthetic_workload_and_writes_the_run_directory() {
    let (addr, received) = super::inject::stand_in_server(std::time::Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"duration_s": 0.5, "functions": [{"function": "f", "rate": {"constant": 100}, "arrivals": "regular", "input": "abc"}]}"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    let output = faasrt_load()
        .args([
            "run",
            "--function",
            "up",
            "--target",
            &addr.to_string(),
            "--synthetic",
        ])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(stdout.contains("50 sent of 50 scheduled"), "{stdout}");
    assert_eq!(received.lock().unwrap().len(), 50);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["succeeded"], 50);
    assert_eq!(summary["aborted"], serde_json::Value::Null);
    let rows = std::fs::read_to_string(out.join("invocations.csv")).unwrap();
    assert_eq!(
        rows.lines().count(),
        51,
        "a header and one row per invocation"
    );
    assert!(rows.lines().nth(1).unwrap().contains(",f,up,"), "{rows}");
    assert_eq!(
        Schedule::read_csv(&out.join("schedule.csv"))
            .unwrap()
            .entries()
            .len(),
        50
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["target"], addr.to_string());
    assert!(manifest["command_line"].as_array().unwrap().len() > 3);
    assert_eq!(manifest["seed"], 1);
    assert_ne!(manifest["git_revision"], "");
    assert_eq!(manifest["config_xxh3"].as_str().unwrap().len(), 16);
    let hgrm = std::fs::read_to_string(out.join("latency.hgrm")).unwrap();
    assert!(hgrm.contains("Total count    =           50"), "{hgrm}");
    // The dataset: Parquet next to the CSV, and the plots.
    let parquet = std::fs::read(out.join("invocations.parquet")).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    assert!(out.join("platform.parquet").exists() && out.join("platform.csv").exists());
    for plot in ["latency_cdf.svg", "over_time.svg", "start_kinds.svg"] {
        let svg = std::fs::read_to_string(out.join(plot)).unwrap();
        assert!(svg.starts_with("<svg"), "{plot}");
    }
    // The same configuration, run again into another directory, hashes
    // the same.
    let again = dir.path().join("again");
    let output = faasrt_load()
        .args([
            "run",
            "--function",
            "up",
            "--target",
            &addr.to_string(),
            "--synthetic",
        ])
        .arg(&spec)
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    succeeded(&output);
    let second: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(second["config_xxh3"], manifest["config_xxh3"]);
}

#[test]
fn run_in_process_invokes_the_runtime_as_a_library_and_null_invokes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"duration_s": 0.5, "functions": [{"function": "f", "rate": {"constant": 200}, "arrivals": "regular", "input": "abc"}]}"#,
    )
    .unwrap();
    let upper = faasrt_example_artifacts::wasm_dir().join("upper.wasm");
    let out = dir.path().join("in-process");
    let output = faasrt_load()
        .args(["run", "--in-process", "--function", "up"])
        .arg("--module")
        .arg(format!("up={}", upper.display()))
        .arg("--synthetic")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(stdout.contains("100 sent of 100 scheduled"), "{stdout}");
    assert!(stdout.contains("100 succeeded"), "{stdout}");
    let rows = std::fs::read_to_string(out.join("invocations.csv")).unwrap();
    // Every row: 3 bytes in, "ABC" out.
    assert!(
        rows.lines().skip(1).all(|row| row.contains(",200,3,3,")),
        "{rows}"
    );

    let out = dir.path().join("null");
    let output = faasrt_load()
        .args(["run", "--null-target", "--function", "up", "--synthetic"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(stdout.contains("100 succeeded"), "{stdout}");
    let rows = std::fs::read_to_string(out.join("invocations.csv")).unwrap();
    assert!(
        rows.lines().skip(1).all(|row| row.contains(",200,3,0,")),
        "{rows}"
    );

    // --in-process without a module is refused before anything runs.
    let output = faasrt_load()
        .args(["run", "--in-process", "--function", "up", "--synthetic"])
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--module"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn closed_reports_its_rate() {
    let (addr, _) = super::inject::stand_in_server(std::time::Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let output = faasrt_load()
        .args([
            "closed",
            "--function",
            "up",
            "--clients",
            "2",
            "--duration",
            "0.2",
            "--target",
        ])
        .arg(addr.to_string())
        .arg("--out")
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    let stdout = succeeded(&output);
    assert!(
        stdout.contains("invocations per second with 2 clients"),
        "{stdout}"
    );
}
