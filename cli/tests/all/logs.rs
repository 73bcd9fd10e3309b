//! `faasrt logs [-f]` against a real `faasrt serve`: a function's kept logs,
//! one invocation's, and a new invocation's log line as it happens.

use crate::cli::{FAASRT, Serve, stderr, stdout, write_file};
use crate::support::log_echo_module;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn deploy_echo(server: &Serve) {
    let file = write_file(server.data_dir.path(), "echo.wasm", &log_echo_module());
    let deployed = server.faasrt(&["deploy", "echo", file.to_str().unwrap()], b"");
    assert!(deployed.status.success(), "{}", stderr(&deployed));
}

#[test]
fn logs_prints_each_line_under_its_invocations_number() {
    let server = Serve::start_with(&[]);
    deploy_echo(&server);
    for input in ["one\ntwo\n", "three\n"] {
        let ran = server.faasrt(&["invoke", "echo"], input.as_bytes());
        assert!(ran.status.success(), "{}", stderr(&ran));
    }
    let logs = server.faasrt(&["logs", "echo"], b"");
    assert!(logs.status.success(), "{}", stderr(&logs));
    let text = stdout(&logs);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let number = |line: &str| -> u64 {
        line.strip_prefix("[#")
            .and_then(|rest| rest.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no invocation number in {line:?}"))
    };
    assert!(
        lines[0].ends_with("] one") && lines[1].ends_with("] two"),
        "{text}"
    );
    assert!(lines[2].ends_with("] three"), "{text}");
    assert_eq!(number(lines[0]), number(lines[1]));
    assert!(number(lines[2]) > number(lines[0]));

    let one = server.faasrt(
        &[
            "logs",
            "echo",
            "--invocation",
            &number(lines[2]).to_string(),
        ],
        b"",
    );
    assert_eq!(stdout(&one).lines().collect::<Vec<_>>(), [lines[2]]);
    let json = server.faasrt(&["--json", "logs", "echo"], b"");
    let first: serde_json::Value =
        serde_json::from_str(stdout(&json).lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["log"], "one\ntwo\n");

    let missing = server.faasrt(&["logs", "nobody"], b"");
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("nobody"), "{}", stderr(&missing));
}

#[test]
fn logs_follow_shows_a_new_invocations_log_line() {
    let server = Serve::start_with(&[]);
    deploy_echo(&server);
    let ran = server.faasrt(&["invoke", "echo"], b"from before\n");
    assert!(ran.status.success(), "{}", stderr(&ran));
    let mut follower = Command::new(FAASRT)
        .args(["logs", "-f", "echo"])
        .env("FAASRT_SERVER", &server.url)
        .env("FAASRT_DATA_DIR", server.data_dir.path())
        .env_remove("FAASRT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faasrt logs -f");
    let (lines, received) = mpsc::channel();
    let stdout = follower.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let next = || received.recv_timeout(Duration::from_secs(20));
    // The kept log first: the follower is connected once it shows.
    let before = next().expect("the kept log");
    assert!(before.ends_with("] from before"), "{before}");
    let ran = server.faasrt(&["invoke", "echo"], b"a new line\n");
    assert!(ran.status.success(), "{}", stderr(&ran));
    let live = next().expect("the new invocation's log line");
    assert!(live.ends_with("] a new line"), "{live}");
    // Still following: it never exits by itself.
    assert!(follower.try_wait().expect("try_wait").is_none());
    follower.kill().expect("kill");
    follower.wait().expect("wait");
}
