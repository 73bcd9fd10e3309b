//! `faasrt kv` against a real `faasrt serve`: state written by the
//! `counter` example read, listed, set and deleted with the CLI, and the
//! limits given at deploy.

use crate::cli::{Serve, stderr, stdout};

#[test]
fn kv_commands_read_and_edit_what_invocations_wrote() {
    let server = Serve::start_with(&[]);
    let counter = faasrt_example_artifacts::wasm_dir().join("counter.wasm");
    let deployed = server.faasrt(
        &[
            "deploy",
            "counter",
            counter.to_str().unwrap(),
            "--kv-max-keys",
            "10",
            "--kv-max-bytes",
            "1KiB",
        ],
        b"",
    );
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let info = server.faasrt(&["--json", "ls"], b"");
    assert!(
        stdout(&info).contains(r#""kv_max_bytes":1024"#),
        "{}",
        stdout(&info)
    );
    let ran = server.faasrt(&["invoke", "counter"], b"ann\nbob\nann\n");
    assert_eq!(stdout(&ran), "ann 1\nbob 1\nann 2\n");

    let listed = server.faasrt(&["kv", "ls", "counter"], b"");
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(
        stdout(&listed),
        "count/ann\t1\ncount/bob\t1\n2 keys, 20 bytes (quota 10 keys, 1024 bytes)\n"
    );
    let got = server.faasrt(&["kv", "get", "counter", "count/ann"], b"");
    assert_eq!(stdout(&got), "2");

    // A value from an argument, and one from stdin.
    let put = server.faasrt(&["kv", "put", "counter", "count/ann", "9"], b"");
    assert!(put.status.success(), "{}", stderr(&put));
    let piped = server.faasrt(
        &["kv", "put", "counter", "note with spaces/and slash"],
        b"from stdin",
    );
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(
        stdout(&server.faasrt(&["kv", "get", "counter", "note with spaces/and slash"], b"")),
        "from stdin"
    );
    assert_eq!(
        stdout(&server.faasrt(&["invoke", "counter"], b"ann\n")),
        "ann 10\n"
    );

    let limited = server.faasrt(
        &["kv", "ls", "counter", "--prefix", "count/", "--limit", "1"],
        b"",
    );
    assert!(
        stdout(&limited).starts_with("count/ann\t2\n"),
        "{}",
        stdout(&limited)
    );
    assert_eq!(
        stdout(&limited).lines().count(),
        2,
        "one key and the totals"
    );

    let removed = server.faasrt(&["kv", "rm", "counter", "count/bob"], b"");
    assert!(removed.status.success(), "{}", stderr(&removed));
    let missing = server.faasrt(&["kv", "get", "counter", "count/bob"], b"");
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no value under key"),
        "{}",
        stderr(&missing)
    );
    let empty_key = server.faasrt(&["kv", "get", "counter", ""], b"");
    assert!(
        stderr(&empty_key).contains("a key cannot be empty"),
        "{}",
        stderr(&empty_key)
    );
}
