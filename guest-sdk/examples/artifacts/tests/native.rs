//! The example functions built natively (the `<name>-native` executables of
//! [`faasrt_example_artifacts::NATIVE_EXAMPLES`]) and run as processes, as
//! the runtime runs native functions: `faasin` on fd 0, `faasout` on fd 1.
//!
//! This checks what the examples' unit tests cannot: exit statuses, the
//! log, and the behaviour on a closed `faasout`. Where no native examples
//! are built (not x86_64 Linux), each test says so and passes.

use std::path::PathBuf;

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::thread;

/// The native build of example `name`, or `None` (with a note) where the
/// native examples are not built.
fn native(name: &str) -> Option<PathBuf> {
    if !faasrt_example_artifacts::native_examples_built() {
        eprintln!("skipped: native examples are built on x86_64 Linux only");
        return None;
    }
    let example = faasrt_example_artifacts::get_native(&format!("{name}-native"))
        .unwrap_or_else(|| panic!("{name}-native is a native example"));
    Some(example.path())
}

fn spawn(bin: &std::path::Path, args: &[&str]) -> Child {
    use std::os::unix::process::CommandExt;
    // The program name the example sees, as a shell would give it.
    let name = bin
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix("-native"))
        .expect("a <name>-native executable");
    Command::new(bin)
        .arg0(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example binary")
}

fn invoke(bin: &std::path::Path, args: &[&str], input: &[u8]) -> Output {
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
    let Some(hello) = native("hello") else { return };
    let out = invoke(&hello, &["faasrt"], b"");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"Hello, faasrt!\n");
}

#[test]
fn grep_exit_status_is_0_1_or_2() {
    let Some(grep) = native("grep") else { return };
    let grep = &grep;
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
    let Some(cat) = native("cat") else { return };
    let input: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let out = invoke(&cat, &[], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input);
}

#[test]
fn head_ends_on_an_endless_input() {
    let Some(head) = native("head") else { return };
    let mut child = spawn(&head, &["-n", "3"]);
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
    let Some(cat) = native("cat") else { return };
    let mut child = spawn(&cat, &[]);
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
