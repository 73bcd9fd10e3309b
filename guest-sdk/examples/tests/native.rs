//! The example functions built natively and run as processes, as the
//! runtime runs native functions: `faasin` on fd 0, `faasout` on fd 1.
//!
//! This checks what the unit tests cannot: exit statuses, the log, and
//! the behaviour on a closed `faasout`. WASI has no processes to spawn, so
//! this file is empty there.

#![cfg(not(target_os = "wasi"))]

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::thread;

fn spawn(bin: &str, args: &[&str]) -> Child {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example binary")
}

fn invoke(bin: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = spawn(bin, args);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A function may exit before reading everything: ignore a broken pipe.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

#[test]
fn hello_greets_its_argument() {
    let out = invoke(env!("CARGO_BIN_EXE_hello"), &["faasrt"], b"");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"Hello, faasrt!\n");
}

#[test]
fn grep_exit_status_is_0_1_or_2() {
    let grep = env!("CARGO_BIN_EXE_grep");
    let found = invoke(grep, &["b"], b"a\nb\n");
    assert_eq!(found.status.code(), Some(0));
    assert_eq!(found.stdout, b"b\n");

    let missing = invoke(grep, &["z"], b"a\nb\n");
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stderr.is_empty());

    let usage = invoke(grep, &[], b"a\n");
    assert_eq!(usage.status.code(), Some(2));
    assert_eq!(usage.stderr, b"grep: usage: grep PATTERN\n");
}

#[test]
fn large_output_is_flushed_completely() {
    let input: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let out = invoke(env!("CARGO_BIN_EXE_cat"), &[], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input);
}

#[test]
fn head_ends_on_an_endless_input() {
    let mut child = spawn(env!("CARGO_BIN_EXE_head"), &["-n", "3"]);
    let mut stdin = child.stdin.take().unwrap();
    let producer = thread::spawn(move || {
        let chunk = b"y\n".repeat(4096);
        loop {
            if let Err(e) = stdin.write_all(&chunk) {
                return e.kind();
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, b"y\ny\ny\n");
    assert_eq!(producer.join().unwrap(), std::io::ErrorKind::BrokenPipe);
}

#[test]
fn broken_pipe_on_faasout_ends_quietly_with_nonzero_status() {
    let mut child = spawn(env!("CARGO_BIN_EXE_cat"), &[]);
    // The consumer goes away before the function writes anything.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let producer = thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 16];
        for _ in 0..64 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    producer.join().unwrap();
    assert_eq!(status.code(), Some(faasrt_guest::BROKEN_PIPE_STATUS));
    assert_eq!(stderr, "");
}
