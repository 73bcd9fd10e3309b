//! Runs the Go SDK's and the Go examples' own tests (`go vet`, `go test`,
//! `gofmt`) with the Go toolchain that built the Go examples, so that
//! `cargo test` (and CI) covers them. The GOOS=wasip1 half runs the test
//! binaries in a wasmtime CLI when one is found (`$FAASRT_WASMTIME`,
//! `wasmtime` on PATH, or the one `bench/peers/install.sh` installs);
//! without Go the test only says it skipped.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The toolchain the build script used, if it found one.
fn go() -> Option<(PathBuf, PathBuf)> {
    let go = option_env!("FAASRT_GO_BIN")?;
    let home = option_env!("FAASRT_GO_HOME")?;
    Some((PathBuf::from(go), PathBuf::from(home)))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(3)
        .expect("the workspace root is three levels up")
        .to_path_buf()
}

/// A `go` command with the build script's offline settings, for `goos`.
fn go_command(go: &Path, home: &Path, goos: Option<&str>, path: &OsString) -> Command {
    let mut command = Command::new(go);
    command.env_clear();
    for keep in ["HOME", "TMPDIR"] {
        if let Some(value) = env::var_os(keep) {
            command.env(keep, value);
        }
    }
    command
        .env("PATH", path)
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOTELEMETRY", "off")
        .env("GOFLAGS", "-modcacherw -buildvcs=false")
        .env("GOCACHE", home.join("cache"))
        .env("GOPATH", home.join("path"))
        .env("GOMODCACHE", home.join("path/pkg/mod"))
        .env("CGO_ENABLED", "0");
    if let Some(goos) = goos {
        command.env("GOOS", goos).env("GOARCH", "wasm");
    }
    command
}

fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn find_wasmtime() -> Option<PathBuf> {
    if let Some(explicit) = env::var_os("FAASRT_WASMTIME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(explicit));
    }
    if let Some(path) = env::var_os("PATH")
        && let Some(found) = env::split_paths(&path)
            .map(|dir| dir.join("wasmtime"))
            .find(|candidate| candidate.is_file())
    {
        return Some(found);
    }
    let cache = env::var_os("FAASRT_BENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/faasrt-bench"))
        })?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("wasmtime-"))
        .map(|entry| entry.path().join("bin/wasmtime"))
        .filter(|candidate| candidate.is_file())
        .collect();
    found.sort();
    found.pop()
}

#[test]
fn go_sdk_and_examples_pass_their_own_tests() {
    let Some((go, home)) = go() else {
        eprintln!("skipped: no Go toolchain when this crate was built; run scripts/install-go.sh");
        return;
    };
    let root = workspace();
    let modules = [
        root.join("guest-sdk/go"),
        root.join("guest-sdk/examples/go"),
    ];
    let path = env::var_os("PATH").unwrap_or_default();

    let gofmt = go.with_file_name("gofmt");
    if gofmt.is_file() {
        for module in &modules {
            let output = Command::new(&gofmt)
                .arg("-l")
                .arg(module)
                .output()
                .expect("run gofmt");
            assert!(
                output.status.success() && output.stdout.is_empty(),
                "gofmt -l lists files to format:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    for module in &modules {
        for goos in [None, Some("wasip1")] {
            let mut vet = go_command(&go, &home, goos, &path);
            vet.current_dir(module).args(["vet", "./..."]);
            run(vet, &format!("go vet ({goos:?}) in {}", module.display()));
        }
        let mut test = go_command(&go, &home, None, &path);
        test.current_dir(module).args(["test", "./..."]);
        run(test, &format!("go test in {}", module.display()));
    }

    let Some(wasmtime) = find_wasmtime() else {
        eprintln!(
            "skipped the GOOS=wasip1 tests: no wasmtime CLI (set FAASRT_WASMTIME or run bench/peers/install.sh)"
        );
        return;
    };
    // `go test` runs wasip1 test binaries through go_wasip1_wasm_exec on PATH.
    let mut wasi_path = vec![root.join("guest-sdk/go/testtools")];
    wasi_path.extend(env::split_paths(&path));
    let wasi_path = env::join_paths(wasi_path).expect("PATH entries have no separators");
    for module in &modules {
        let mut test = go_command(&go, &home, Some("wasip1"), &wasi_path);
        test.current_dir(module)
            .env("FAASRT_WASMTIME", &wasmtime)
            .args(["test", "./..."]);
        run(
            test,
            &format!(
                "GOOS=wasip1 go test in {} (with {})",
                module.display(),
                wasmtime.display()
            ),
        );
    }
}
