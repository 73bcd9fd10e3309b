//! Builds the example functions for `wasm32-wasip1` with a nested cargo, and
//! the Go examples as WASI reactors when Go is available (`build_go.rs`),
//! and generates the table of them that `src/lib.rs` embeds.
//!
//! The nested build uses its own target directory (`target/wasm-examples`):
//! the outer cargo holds the lock on the main one for as long as this script
//! runs. It runs with a cleaned environment, because the outer build's
//! settings (RUSTFLAGS, clippy's wrapper, coverage flags, the target dir)
//! are meant for host code and would break or pollute a wasm build.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod build_go;

const TARGET: &str = "wasm32-wasip1";
const PACKAGE: &str = "faasrt-examples";

/// Prefixes of environment variables the outer cargo sets (or a user set for
/// the outer build) that the nested cargo would read as its own settings.
const LEAKING_PREFIXES: &[&str] = &[
    "CARGO_BUILD_",   // build.rustflags, build.target, build.target-dir, wrappers
    "CARGO_TARGET_",  // CARGO_TARGET_DIR, per-target rustflags/linker/runner
    "CARGO_PROFILE_", // profile overrides meant for the host build
    "CARGO_ENCODED_", // CARGO_ENCODED_RUSTFLAGS/RUSTDOCFLAGS, set for build scripts
    "CARGO_CFG_",     // the host target's cfg, set for build scripts
];

/// Variables removed by exact name.
const LEAKING_NAMES: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    // clippy-driver: `cargo clippy` sets it, and it must not lint (or fail
    // on) the nested build.
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
];

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let workspace = workspace_root(&manifest_dir);
    let examples_dir = workspace.join("guest-sdk/examples");

    for path in [
        workspace.join("guest-sdk/rust/src"),
        workspace.join("guest-sdk/rust/Cargo.toml"),
        examples_dir.join("src"),
        examples_dir.join("Cargo.toml"),
        // The release profile that the nested build uses lives here.
        workspace.join("Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let examples = discover_examples(&examples_dir.join("src/bin"));
    ensure_target_installed(&workspace);

    let target_dir = workspace.join("target/wasm-examples");
    build_examples(&workspace, &target_dir);

    // Copies in OUT_DIR belong to this build of the crate: another build
    // rewriting target/wasm-examples cannot change what was embedded.
    let wasm_dir = out_dir.join("wasm");
    // Start empty, so that a removed example leaves no stale file behind.
    if wasm_dir.exists() {
        fs::remove_dir_all(&wasm_dir)
            .unwrap_or_else(|e| panic!("remove {}: {e}", wasm_dir.display()));
    }
    fs::create_dir_all(&wasm_dir).unwrap_or_else(|e| panic!("create {}: {e}", wasm_dir.display()));
    let built_dir = target_dir.join(TARGET).join("release");
    let mut entries = Vec::new();
    for example in &examples {
        let file = format!("{}.wasm", example.name);
        let from = built_dir.join(&file);
        let to = wasm_dir.join(&file);
        fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
        entries.push(TableEntry {
            name: example.name.clone(),
            description: example.description.clone(),
            wasm: to,
            kind: "Command",
        });
    }
    let go_built = match build_go::build_examples(&workspace, &wasm_dir) {
        Ok(go_examples) => {
            entries.extend(go_examples.into_iter().map(|example| TableEntry {
                name: example.name,
                description: example.description,
                wasm: example.wasm,
                kind: "Reactor",
            }));
            true
        }
        Err(why) => {
            println!("cargo:warning={why}");
            false
        }
    };
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].name == pair[1].name) {
        panic!("two examples are called {}", pair[0].name);
    }
    let mut table = String::from("&[\n");
    for entry in &entries {
        writeln!(
            table,
            "    Example {{ name: {:?}, description: {:?}, wasm: include_bytes!({:?}), kind: ExampleKind::{} }},",
            entry.name,
            entry.description,
            utf8(&entry.wasm),
            entry.kind,
        )
        .expect("writing to a String cannot fail");
    }
    table.push(']');
    let table_path = out_dir.join("examples.rs");
    fs::write(&table_path, table).unwrap_or_else(|e| panic!("write {}: {e}", table_path.display()));
    println!(
        "cargo:rustc-env=FAASRT_EXAMPLES_WASM_DIR={}",
        utf8(&wasm_dir)
    );
    println!("cargo:rustc-env=FAASRT_GO_EXAMPLES_BUILT={go_built}");
}

/// One row of the generated table.
struct TableEntry {
    name: String,
    description: String,
    wasm: PathBuf,
    /// The `ExampleKind` variant.
    kind: &'static str,
}

/// An example binary found in `src/bin`.
struct ExampleSource {
    name: String,
    description: String,
}

/// Finds the binaries of `faasrt-examples` the way cargo does: `src/bin/x.rs`
/// and `src/bin/x/main.rs`. The description is the first `//!` line.
fn discover_examples(bin_dir: &Path) -> Vec<ExampleSource> {
    let entries =
        fs::read_dir(bin_dir).unwrap_or_else(|e| panic!("read {}: {e}", bin_dir.display()));
    let mut examples = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", bin_dir.display()))
            .path();
        let (name, source) = if path.extension().is_some_and(|ext| ext == "rs") {
            (path.file_stem(), path.clone())
        } else if path.join("main.rs").is_file() {
            (path.file_name(), path.join("main.rs"))
        } else {
            continue;
        };
        let name = name
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("non-UTF-8 binary name {}", path.display()));
        let text = fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
        let description = text
            .lines()
            .find_map(|line| line.trim_start().strip_prefix("//!"))
            .map(|line| line.trim().to_owned())
            .unwrap_or_default();
        examples.push(ExampleSource {
            name: name.to_owned(),
            description,
        });
    }
    examples.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        !examples.is_empty(),
        "no example binaries in {}",
        bin_dir.display()
    );
    examples
}

/// Installs the wasm target with rustup if the compiler's sysroot lacks it:
/// a fresh machine has only the host toolchain, and `rust-toolchain.toml`'s
/// `targets` is only honoured when rustup installs the toolchain itself.
fn ensure_target_installed(workspace: &Path) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if target_installed(&rustc) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup
        .args(["target", "add", TARGET])
        .current_dir(workspace);
    if let Some(toolchain) = env::var_os("RUSTUP_TOOLCHAIN") {
        rustup.arg("--toolchain").arg(toolchain);
    }
    let added = rustup.stdout(Stdio::from(std::io::stderr())).status();
    let hint = format!(
        "the {TARGET} target is not installed for {rustc:?} and could not be added; \
         run `rustup target add {TARGET}` (for the toolchain in rust-toolchain.toml) and build again"
    );
    match added {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`rustup target add {TARGET}` failed ({status}): {hint}"),
        Err(e) => panic!("cannot run rustup ({e}): {hint}"),
    }
    assert!(
        target_installed(&rustc),
        "`rustup target add {TARGET}` ran, but {rustc:?} still has no {TARGET} in its sysroot; \
         is it a rustup toolchain? Install the target for that compiler and build again"
    );
}

fn target_installed(rustc: &OsString) -> bool {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc:?} --print sysroot: {e}"));
    assert!(
        output.status.success(),
        "{rustc:?} --print sysroot failed: {}",
        output.status
    );
    let sysroot = String::from_utf8(output.stdout).expect("the sysroot path is UTF-8");
    Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
}

fn build_examples(workspace: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            PACKAGE,
            "--bins",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        // Keep stdout for cargo's `cargo:` directives only.
        .stdout(Stdio::from(std::io::stderr()));
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if LEAKING_NAMES.contains(&key)
            || LEAKING_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
        {
            command.env_remove(key);
        }
    }
    // The release profile keeps line tables for the host crates; in the
    // examples they would be 2 MB of DWARF (mostly std's) on a 80 KB module.
    // The `name` section stays, so traps still show function names.
    command
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let started = Instant::now();
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
    assert!(
        status.success(),
        "building the examples for {TARGET} failed ({status}); the nested cargo's output is above"
    );
    eprintln!(
        "nested wasm build of {PACKAGE} took {:.1?}",
        started.elapsed()
    );
}

/// `guest-sdk/examples/artifacts` is three levels below the workspace root.
fn workspace_root(manifest_dir: &Path) -> PathBuf {
    let root = manifest_dir
        .ancestors()
        .nth(3)
        .unwrap_or_else(|| panic!("{} has no workspace root above it", manifest_dir.display()));
    let manifest = root.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("read {}: {e}", manifest.display()));
    assert!(
        text.contains("[workspace]"),
        "{} is not the workspace manifest",
        manifest.display()
    );
    root.to_path_buf()
}

fn env_var(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| panic!("cargo sets {name} for build scripts"))
}

/// Paths go into generated Rust source as string literals.
fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("path {} is not UTF-8", path.display()))
}
