//! The Go half of the build script: finds a Go toolchain and builds the Go
//! examples of `guest-sdk/examples/go` as WASI reactors.
//!
//! Go is optional. Without it (or with one older than the SDK needs) the Go
//! examples are left out with a `cargo:warning` that says how to get it;
//! `scripts/install-go.sh` installs it into the cache directory searched
//! here, and `scripts/test` runs that script, so CI always builds them. A Go
//! that is found but fails to build the examples fails the build: that is a
//! bug in the SDK or the examples, not a missing tool.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::utf8;

/// The oldest Go that builds the SDK (`go.mod` says `go 1.27`).
const MIN_GO: (u32, u32) = (1, 27);

/// A Go example built into the wasm directory.
pub struct GoExample {
    pub name: String,
    pub description: String,
    pub wasm: PathBuf,
}

/// The Go toolchain found, and the settings every `go` command runs with.
pub struct Toolchain {
    pub go: PathBuf,
    /// `<cache>/go`: GOCACHE, GOPATH and GOMODCACHE live below it.
    pub home: PathBuf,
}

/// Builds the Go examples into `wasm_dir`, or returns why they were skipped.
pub fn build_examples(workspace: &Path, wasm_dir: &Path) -> Result<Vec<GoExample>, String> {
    let sdk_dir = workspace.join("guest-sdk/go");
    let examples_dir = workspace.join("guest-sdk/examples/go");
    for path in [&sdk_dir, &examples_dir] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for var in ["FAASRT_GO", "FAASRT_CACHE", "HOME"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let examples = discover(&examples_dir);
    let names = examples
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let toolchain = find_toolchain().map_err(|why| {
        format!("{why}: the Go examples ({names}) are skipped; run scripts/install-go.sh")
    })?;
    println!("cargo:rerun-if-changed={}", toolchain.go.display());
    // For the tests that run the SDK's own Go tests.
    println!("cargo:rustc-env=FAASRT_GO_BIN={}", utf8(&toolchain.go));
    println!("cargo:rustc-env=FAASRT_GO_HOME={}", utf8(&toolchain.home));

    let started = Instant::now();
    // One `go build` per example (c-shared takes exactly one main package),
    // all at once: most of each is the link.
    let children: Vec<_> = examples
        .iter()
        .map(|(name, _)| {
            let wasm = wasm_dir.join(format!("{name}.wasm"));
            let child = toolchain
                .command()
                .current_dir(&examples_dir)
                .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
                .arg(&wasm)
                .arg(format!("./{name}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", toolchain.go.display()));
            (name, wasm, child)
        })
        .collect();
    let mut built = Vec::new();
    for ((name, wasm, child), (_, description)) in children.into_iter().zip(&examples) {
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for go build of {name}: {e}"));
        assert!(
            output.status.success(),
            "building the Go example {name} with {} failed ({}):\n{}{}",
            toolchain.go.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        built.push(GoExample {
            name: name.clone(),
            description: description.clone(),
            wasm,
        });
    }
    eprintln!(
        "go build of {} Go examples took {:.1?}",
        built.len(),
        started.elapsed()
    );
    Ok(built)
}

impl Toolchain {
    /// A `go` command for the examples' target, offline and self-contained:
    /// the environment is cleared (cargo's and the user's Go settings would
    /// leak into the build otherwise), GOTOOLCHAIN=local keeps go from
    /// fetching another toolchain, GOPROXY=off from fetching modules, and
    /// the caches live under the faasrt cache directory.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.go);
        command.env_clear();
        for keep in ["PATH", "HOME", "TMPDIR"] {
            if let Some(value) = env::var_os(keep) {
                command.env(keep, value);
            }
        }
        command
            .env("GOTOOLCHAIN", "local")
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .env("CGO_ENABLED", "0")
            .env("GO111MODULE", "on")
            .env("GOWORK", "off")
            .env("GOENV", "off")
            .env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env("GOTELEMETRY", "off")
            .env("GOFLAGS", "-modcacherw -buildvcs=false")
            .env("GOCACHE", self.home.join("cache"))
            .env("GOPATH", self.home.join("path"))
            .env("GOMODCACHE", self.home.join("path/pkg/mod"));
        command
    }
}

/// `${FAASRT_CACHE:-$HOME/.cache/faasrt}`, where scripts/install-go.sh
/// installs Go.
fn cache_dir() -> Option<PathBuf> {
    if let Some(cache) = env::var_os("FAASRT_CACHE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(cache));
    }
    env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join(".cache/faasrt"))
}

/// Finds Go: `$FAASRT_GO`, else the one scripts/install-go.sh installed,
/// else `go` on PATH; and checks that it is new enough.
fn find_toolchain() -> Result<Toolchain, String> {
    let cache = cache_dir();
    let home = cache
        .as_ref()
        .map(|c| c.join("go"))
        .or_else(|| env::var_os("TMPDIR").map(|t| PathBuf::from(t).join("faasrt-go")))
        .unwrap_or_else(|| PathBuf::from("/tmp/faasrt-go"));
    let installed = home.join("sdk/go/bin/go");
    let go = if let Some(explicit) = env::var_os("FAASRT_GO").filter(|v| !v.is_empty()) {
        let explicit = PathBuf::from(explicit);
        // An explicit choice that does not work is an error, not a skip.
        assert!(
            explicit.is_file(),
            "FAASRT_GO={} is not a file; point it at a go binary or unset it",
            explicit.display()
        );
        explicit
    } else if installed.is_file() {
        installed
    } else if let Some(on_path) = search_path("go") {
        on_path
    } else {
        // Watch the directory that scripts/install-go.sh fills, so that
        // installing Go later rebuilds this crate. Only while Go is absent:
        // once it is found, the Go build cache below it changes with every
        // build and only the go binary is watched.
        if fs::create_dir_all(&home).is_ok() {
            println!("cargo:rerun-if-changed={}", home.display());
        }
        return Err("Go not found".to_owned());
    };
    let toolchain = Toolchain { go, home };
    let version = toolchain
        .command()
        .args(["env", "GOVERSION"])
        .output()
        .map_err(|e| format!("Go at {} does not run ({e})", toolchain.go.display()))?;
    if !version.status.success() {
        return Err(format!(
            "Go at {} failed to report its version ({}): {}",
            toolchain.go.display(),
            version.status,
            String::from_utf8_lossy(&version.stderr).trim()
        ));
    }
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    match parse_go_version(&version) {
        Some(v) if v >= MIN_GO => Ok(toolchain),
        _ => Err(format!(
            "Go at {} is {version:?}, older than the go{}.{} the Go SDK needs",
            toolchain.go.display(),
            MIN_GO.0,
            MIN_GO.1
        )),
    }
}

/// `go1.27.3` (or `go1.27rc1`, `go1.27`) to (1, 27).
fn parse_go_version(version: &str) -> Option<(u32, u32)> {
    let rest = version.strip_prefix("go")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

fn search_path(program: &str) -> Option<PathBuf> {
    let path: OsString = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The Go examples: each directory of `guest-sdk/examples/go` with a
/// `main.go`, named after the directory, described by the first line of the
/// package comment.
fn discover(examples_dir: &Path) -> Vec<(String, String)> {
    let entries = fs::read_dir(examples_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", examples_dir.display()));
    let mut examples = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", examples_dir.display()))
            .path();
        let main = path.join("main.go");
        if !main.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("non-UTF-8 example name {}", path.display()))
            .to_owned();
        let text =
            fs::read_to_string(&main).unwrap_or_else(|e| panic!("read {}: {e}", main.display()));
        examples.push((name, package_doc_first_line(&text)));
    }
    examples.sort();
    assert!(
        !examples.is_empty(),
        "no Go examples (directories with a main.go) in {}",
        examples_dir.display()
    );
    examples
}

/// The first line of the comment above the package clause, without `//`;
/// directives such as `//go:build` are not part of it.
fn package_doc_first_line(source: &str) -> String {
    let mut first = None;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("package ") {
            break;
        }
        match line.strip_prefix("//") {
            Some(directive) if directive.starts_with("go:") => first = None,
            Some(text) => {
                first.get_or_insert_with(|| text.trim().to_owned());
            }
            // A blank line ends a comment that is not the package's.
            None => first = None,
        }
    }
    first.unwrap_or_default()
}
