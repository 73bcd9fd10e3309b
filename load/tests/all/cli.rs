//! The `faasrt-load` binary as a user runs it.

use super::fixture;
use faasrt_load::Schedule;
use std::process::Command;

fn faasrt_load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faasrt-load"))
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("11 invocations of 2 functions"), "{stdout}");
    assert!(stdout.contains("the trace asks for 11"), "{stdout}");
    assert_eq!(Schedule::read_csv(&out).unwrap().entries().len(), 11);
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
