//! The real `faasrt` binary: `serve --examples`, the client commands
//! against it, and `run` without a server.

use crate::support::{example, exit_module};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub(crate) const FAASRT: &str = env!("CARGO_BIN_EXE_faasrt");

/// A `faasrt serve` process on a free port.
pub(crate) struct Serve {
    child: Child,
    pub(crate) url: String,
    pub(crate) data_dir: tempfile::TempDir,
}

impl Serve {
    /// `faasrt serve --examples`, once every example is ready. Its idle
    /// host threads leave after 200 ms, so that a test's pauses make the
    /// server create new ones. Pre-initialization may take a minute: the
    /// Go examples' takes seconds in a debug build, more beside the other
    /// tests on two cores.
    fn start() -> Self {
        let serve = Self::start_with(&[
            "--examples",
            "--host-thread-keep-alive",
            "200ms",
            "--max-preinit",
            "120s",
        ]);
        serve.wait_ready();
        serve
    }

    /// `faasrt serve` with `flags`, as soon as it listens.
    pub(crate) fn start_with(flags: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), flags)
    }

    /// `faasrt serve` with `flags` on `data_dir`, as soon as it listens.
    pub(crate) fn start_in(data_dir: tempfile::TempDir, flags: &[&str]) -> Self {
        let mut child = Command::new(FAASRT)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(flags)
            .arg("--data-dir")
            .arg(data_dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("faasrt serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("faasrt serve exited before listening")
                .expect("read stderr");
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Serve {
            child,
            url,
            data_dir,
        }
    }

    /// Waits until `/healthz` says nothing is being prepared any more (the
    /// examples, on a first start), for at most five minutes.
    pub(crate) fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let health = http_get(&self.url, "/healthz");
            if health.contains(r#"{"status":"ok"}"#) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server is still preparing: {health}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.url
            .trim_start_matches("http://")
            .parse()
            .expect("the server listens on host:port")
    }

    /// The management token the server wrote to its data directory.
    pub(crate) fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("token"))
            .expect("the server wrote its token")
            .trim()
            .to_owned()
    }

    /// Runs a client command against this server with the token found in
    /// its data directory.
    pub(crate) fn faasrt(&self, args: &[&str], stdin: &[u8]) -> Output {
        run(
            Command::new(FAASRT)
                .args(args)
                .env("FAASRT_SERVER", &self.url)
                .env("FAASRT_DATA_DIR", self.data_dir.path())
                .env_remove("FAASRT_TOKEN"),
            stdin,
        )
    }

    /// Kills the server with SIGKILL; returns its data directory.
    pub(crate) fn kill_9(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("tempdir"))
    }

    /// Asks the server to stop as an operator's SIGTERM would.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) on the pid of a child this test spawned and has not
        // yet reaped, so the pid cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        self.child.wait().expect("wait")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faasrt runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("faasrt ends")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

#[test]
fn serve_with_examples_answers_every_client_command() {
    let serve = Serve::start();

    let hello = serve.faasrt(&["invoke", "hello", "cli"], b"");
    assert_eq!(stdout(&hello), "Hello, cli!\n", "{}", stderr(&hello));
    assert_eq!(hello.status.code(), Some(0));

    assert_eq!(
        stdout(&serve.faasrt(&["invoke", "upper"], b"quiet\n")),
        "QUIET\n"
    );
    assert_eq!(
        stdout(&serve.faasrt(&["invoke", "wc", "-l"], b"1\n2\n3\n")),
        "3\n"
    );
    assert_eq!(
        stdout(&serve.faasrt(&["invoke", "head", "-n", "2"], b"a\nb\nc\n")),
        "a\nb\n"
    );
    assert_eq!(stdout(&serve.faasrt(&["invoke", "cat"], b"same")), "same");

    // The function's exit code is the CLI's: grep without a match exits 1.
    let no_match = serve.faasrt(&["invoke", "grep", "zebra"], b"cat\ndog\n");
    assert_eq!(no_match.status.code(), Some(1));
    assert_eq!(stdout(&no_match), "");
    assert!(
        stderr(&no_match).contains("exited with status 1"),
        "{}",
        stderr(&no_match)
    );

    // Guests on every API thread at once, then a pause that retires every
    // idle host thread: the deploys and native starts below need new host
    // threads, asked for by threads that carry the guest role.
    wasm_load(&serve.url, 32);
    std::thread::sleep(std::time::Duration::from_millis(600));

    let listing = serve.faasrt(&["ls", "--json"], b"");
    let functions: serde_json::Value =
        serde_json::from_slice(&listing.stdout).expect("ls --json is JSON");
    let mut names: Vec<_> = functions
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    let mut examples: Vec<_> = faasrt_example_artifacts::EXAMPLES
        .iter()
        .map(|e| e.name.to_owned())
        .chain(
            faasrt_example_artifacts::NATIVE_EXAMPLES
                .iter()
                .map(|e| e.name.to_owned()),
        )
        .collect();
    examples.sort();
    assert_eq!(names, examples, "--examples deploys every example");
    for name in ["cat", "grep", "head", "hello", "upper", "wc"] {
        assert!(names.iter().any(|n| n == name), "{name} is deployed");
    }
    assert!(stdout(&serve.faasrt(&["ls"], b"")).contains("hello"));

    let file = write_file(serve.data_dir.path(), "mine.wasm", example("upper"));
    let deployed = serve.faasrt(&["deploy", "mine", file.to_str().unwrap(), "--json"], b"");
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    let info: serde_json::Value =
        serde_json::from_slice(&deployed.stdout).expect("deploy --json is JSON");
    assert_eq!(info["name"], "mine");
    assert_eq!(stdout(&serve.faasrt(&["invoke", "mine"], b"mine")), "MINE");

    let json = serve.faasrt(&["--json", "invoke", "hello"], b"");
    let outcome: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("invoke --json is JSON");
    assert_eq!(outcome["exit_code"], 0);
    assert_eq!(outcome["output"], "Hello, world!\n");

    let removed = serve.faasrt(&["rm", "mine"], b"");
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    let missing = serve.faasrt(&["invoke", "mine"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("not deployed"),
        "{}",
        stderr(&missing)
    );

    if faasrt_example_artifacts::native_examples_built() {
        // A native function and a mixed pipeline with a spliced native
        // edge: forks from the blocking threads, splice on a guest thread,
        // all under the server's seccomp filters.
        assert_eq!(
            stdout(&serve.faasrt(&["invoke", "upper-native"], b"native\n")),
            "NATIVE\n"
        );
        let piped = serve.faasrt(&["pipe", "cat | upper-native | wc-native -l"], b"a\nb\n");
        assert_eq!(stdout(&piped), "2\n", "{}", stderr(&piped));
        // The README's own mixed pipeline, after more guest load.
        wasm_load(&serve.url, 32);
        std::thread::sleep(std::time::Duration::from_millis(600));
        let seq: String = (1..=1000).map(|n| format!("{n}\n")).collect();
        let piped = serve.faasrt(
            &["--json", "pipe", "cat-native | grep 7 | wc-native -l"],
            seq.as_bytes(),
        );
        assert_eq!(stdout(&piped), "271\n", "{}", stderr(&piped));
        assert!(
            stderr(&piped).contains(r#""pipestatus":[0,0,0]"#),
            "{}",
            stderr(&piped)
        );
    }
    // A stage that fails says so on stderr, as a shell says "command not
    // found", even though the last stage exits 0.
    let trap = write_file(
        serve.data_dir.path(),
        "trap.wasm",
        &crate::support::trap_module(),
    );
    let deployed = serve.faasrt(&["deploy", "trapper", trap.to_str().unwrap()], b"");
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    let failed = serve.faasrt(&["pipe", "trapper | wc -l"], b"x\n");
    assert_eq!(failed.status.code(), Some(0), "{}", stderr(&failed));
    assert_eq!(stdout(&failed), "0\n");
    assert!(
        stderr(&failed).contains("faasrt: stage 1 (trapper): "),
        "{}",
        stderr(&failed)
    );
    // Nothing the server did above was refused by its own filters, and
    // the threads that ran guests took the guest-thread role.
    let metrics = http_get(&serve.url, "/metrics");
    assert!(
        metrics.contains("faasrt_seccomp_denied_syscalls 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("faasrt_seccomp_denials{"),
        "no syscall was refused: {metrics}"
    );
    let guest_threads: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("faasrt_seccomp_guest_threads "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no faasrt_seccomp_guest_threads: {metrics}"));
    assert!(guest_threads >= 1, "{metrics}");

    assert!(
        serve.terminate().success(),
        "SIGTERM ends the server cleanly"
    );
}

/// `count` invocations of `hello` at once, each on a connection of its own.
fn wasm_load(url: &str, count: usize) {
    let calls: Vec<_> = (0..count)
        .map(|i| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let answer = http_post(&url, &format!("/v1/functions/hello/invoke?arg=n{i}"));
                assert!(answer.ends_with(&format!("Hello, n{i}!\n")), "{answer}");
            })
        })
        .collect();
    for call in calls {
        call.join().expect("an invocation of hello");
    }
}

/// The whole answer (status line, headers, body) of an empty `POST path`.
fn http_post(url: &str, path: &str) -> String {
    request(
        url,
        &format!("POST {path} HTTP/1.1\r\nContent-Length: 0\r\n"),
    )
}

/// The body of `GET path` on the server at `url` (`http://host:port`).
pub(crate) fn http_get(url: &str, path: &str) -> String {
    request(url, &format!("GET {path} HTTP/1.1\r\n"))
}

/// Sends `head` (a request line and headers, each ending in CRLF) with
/// `Host` and `Connection: close` added, and returns the whole answer.
fn request(url: &str, head: &str) -> String {
    use std::io::Read;
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(stream, "{head}Host: {address}\r\nConnection: close\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn serve_applies_its_default_and_maximum_limits() {
    let serve = Serve::start_with(&[
        "--default-memory",
        "32MiB",
        "--max-memory",
        "64MiB",
        "--default-timeout",
        "1500ms",
        "--max-timeout",
        "2s",
    ]);
    let file = write_file(serve.data_dir.path(), "hello.wasm", example("hello"));
    let path = file.to_str().unwrap();
    let deployed = serve.faasrt(&["deploy", "plain", path, "--json"], b"");
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    let info: serde_json::Value = serde_json::from_slice(&deployed.stdout).expect("JSON");
    assert_eq!(info["limits"]["memory_mb"], 32, "{info}");
    assert_eq!(info["limits"]["timeout_ms"], 1500, "{info}");
    // Exactly at the caps is fine; one step past them is refused.
    let at_caps = serve.faasrt(
        &[
            "deploy",
            "big",
            path,
            "--memory",
            "64MiB",
            "--timeout",
            "2s",
        ],
        b"",
    );
    assert_eq!(at_caps.status.code(), Some(0), "{}", stderr(&at_caps));
    for (flag, value, cap) in [("--memory", "65MiB", "64"), ("--timeout", "2001ms", "2000")] {
        let refused = serve.faasrt(&["deploy", "over", path, flag, value], b"");
        assert_eq!(refused.status.code(), Some(1), "{flag} {value}");
        assert!(
            stderr(&refused).contains(cap),
            "{flag} {value}: {}",
            stderr(&refused)
        );
    }
    assert_eq!(
        stdout(&serve.faasrt(&["invoke", "big"], b"")),
        "Hello, world!\n"
    );
    // Bounds checks per function.
    let guarded = serve.faasrt(
        &[
            "deploy",
            "guarded",
            path,
            "--bounds-checks",
            "guard-pages",
            "--json",
        ],
        b"",
    );
    assert_eq!(guarded.status.code(), Some(0), "{}", stderr(&guarded));
    let info: serde_json::Value = serde_json::from_slice(&guarded.stdout).expect("JSON");
    assert_eq!(info["bounds_checks"], "guard-pages", "{info}");
    assert_eq!(
        stdout(&serve.faasrt(&["invoke", "guarded"], b"")),
        "Hello, world!\n"
    );
}

#[test]
fn management_without_the_token_is_refused() {
    let serve = Serve::start();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let file = write_file(elsewhere.path(), "f.wasm", example("cat"));
    let output = run(
        Command::new(FAASRT)
            .args(["deploy", "f"])
            .arg(&file)
            .env("FAASRT_SERVER", &serve.url)
            .env("FAASRT_DATA_DIR", elsewhere.path())
            .env_remove("FAASRT_TOKEN"),
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unauthorized"),
        "{}",
        stderr(&output)
    );
    // With FAASRT_TOKEN it works.
    let token = std::fs::read_to_string(serve.data_dir.path().join("token")).expect("token");
    let output = run(
        Command::new(FAASRT)
            .args(["deploy", "f"])
            .arg(&file)
            .env("FAASRT_SERVER", &serve.url)
            .env("FAASRT_DATA_DIR", elsewhere.path())
            .env("FAASRT_TOKEN", token.trim()),
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn run_executes_a_file_without_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hello = write_file(dir.path(), "hello.wasm", example("hello"));
    let output = run(
        Command::new(FAASRT).arg("run").arg(&hello).arg("local"),
        b"",
    );
    assert_eq!(stdout(&output), "Hello, local!\n", "{}", stderr(&output));
    assert_eq!(output.status.code(), Some(0));

    let grep = write_file(dir.path(), "grep.wasm", example("grep"));
    let output = run(
        Command::new(FAASRT).arg("run").arg(&grep).arg("b"),
        b"a\nb\nab\n",
    );
    assert_eq!(stdout(&output), "b\nab\n");

    let failing = write_file(dir.path(), "fail.wasm", &exit_module(7, "seven"));
    let output = run(Command::new(FAASRT).arg("run").arg(&failing), b"");
    assert_eq!(output.status.code(), Some(7));
    assert!(
        stderr(&output).contains("seven"),
        "the log tail is shown: {}",
        stderr(&output)
    );

    let garbage = write_file(dir.path(), "garbage.wasm", b"not wasm");
    let output = run(Command::new(FAASRT).arg("run").arg(&garbage), b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid module"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // Port 9 (discard) on loopback: nothing listens there in the test VM.
    let output = run(
        Command::new(FAASRT)
            .args(["ls"])
            .env("FAASRT_SERVER", "http://127.0.0.1:9")
            .env("FAASRT_DATA_DIR", "/nonexistent"),
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot reach the faasrt server"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn doctor_json_matches_what_the_probe_finds() {
    let output = run(Command::new(FAASRT).args(["doctor", "--json"]), b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("doctor --json is JSON");
    let report = report.as_array().expect("an array");
    for probed in faasrt_isolation::probe() {
        let entry = report
            .iter()
            .find(|m| m["name"] == probed.name)
            .unwrap_or_else(|| panic!("{} is reported", probed.name));
        assert_eq!(entry["available"], probed.available, "{}", probed.name);
        assert!(entry["active"].is_boolean());
        assert!(
            entry["detail"]
                .as_str()
                .unwrap()
                .starts_with(&probed.detail)
        );
        // Nothing is active that is not available.
        if !probed.available {
            assert_eq!(entry["active"], false, "{}", probed.name);
        }
    }
    let human = run(Command::new(FAASRT).arg("doctor"), b"");
    assert!(stdout(&human).contains("pkeys"));
    // Doctor takes the engine flags of serve and reports that layout.
    let sized = run(
        Command::new(FAASRT).args([
            "doctor",
            "--json",
            "--max-memory",
            "256MiB",
            "--max-instances",
            "1000",
        ]),
        b"",
    );
    let sized: serde_json::Value = serde_json::from_slice(&sized.stdout).expect("JSON");
    let address_space = sized
        .as_array()
        .expect("an array")
        .iter()
        .find(|m| m["name"] == "address-space")
        .expect("address-space is reported");
    let detail = address_space["detail"].as_str().unwrap();
    assert!(
        detail.contains("1000 instance slots (256 MiB each, explicit bounds checks)"),
        "{detail}"
    );
}

#[test]
fn serve_refuses_a_setting_that_cannot_work_and_names_its_flag() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let output = run(
        Command::new(FAASRT)
            .args(["serve", "--listen", "127.0.0.1:0", "--max-instances", "0"])
            .arg("--data-dir")
            .arg(data_dir.path()),
        b"",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("max_instances is 0 (--max-instances)"),
        "{}",
        stderr(&output)
    );
}
