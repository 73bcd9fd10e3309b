//! Builds the example functions for `wasm32-wasip1` with a nested cargo, and
//! the Go examples as WASI reactors when Go is available (`build_go.rs`),
//! and generates the table of them that `src/lib.rs` embeds. On an x86_64
//! Linux host it also builds the Rust examples as native executables for the
//! host, with a second nested cargo, and generates their table too.
//!
//! The same two nested builds build the hostile guests of
//! `guest-sdk/examples/hostile` (package `faasrt-hostile`), which get tables
//! of their own: `HOSTILE` (its `//! Guest: wasm.` binaries, plus its `wat/`
//! modules, converted with the `wat` crate) and `HOSTILE_NATIVE` (its
//! `//! Guest: native.` binaries). They never join the examples' tables.
//!
//! Each nested build uses its own target directory (`target/wasm-examples`,
//! `target/native-examples`): the outer cargo holds the lock on the main one
//! for as long as this script runs. They run with a cleaned environment,
//! because the outer build's settings (RUSTFLAGS, clippy's wrapper, coverage
//! flags, the target dir) are meant for the outer build and would break or
//! pollute a wasm build, or change what the native examples are.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod build_go;

const TARGET: &str = "wasm32-wasip1";
/// The packages each nested cargo builds: the examples and the hostile guests.
const PACKAGES: &[&str] = &["faasrt-examples", "faasrt-hostile"];
/// Where `faasrt-hostile` lives, below the workspace root.
const HOSTILE_PACKAGE_DIR: &str = "guest-sdk/examples/hostile";
/// Appended to a binary's name to name its native executable: `cat-native`.
const NATIVE_SUFFIX: &str = "-native";
/// The cfg set when the native examples are built (`src/lib.rs` reads it).
const NATIVE_CFG: &str = "faasrt_native_examples";

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
    let hostile_dir = workspace.join(HOSTILE_PACKAGE_DIR);

    for path in [
        workspace.join("guest-sdk/rust/src"),
        workspace.join("guest-sdk/rust/Cargo.toml"),
        examples_dir.join("src"),
        examples_dir.join("Cargo.toml"),
        hostile_dir.join("src"),
        hostile_dir.join("wat"),
        hostile_dir.join("Cargo.toml"),
        // The release profile that the nested build uses lives here.
        workspace.join("Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let examples = discover_bins(&examples_dir.join("src/bin"));
    let hostile = discover_bins(&hostile_dir.join("src/bin"));
    for bin in &hostile {
        assert!(
            bin.guest.is_some(),
            "{}/src/bin: {} has no `//! Guest: wasm.` or `//! Guest: native.` line",
            hostile_dir.display(),
            bin.name
        );
    }
    ensure_target_installed(&workspace);

    let target_dir = workspace.join("target/wasm-examples");
    let mut cargo = nested_cargo(&workspace, TARGET, &target_dir);
    // The release profile keeps line tables for the host crates; in the
    // examples they would be 2 MB of DWARF (mostly std's) on a 80 KB module.
    // The `name` section stays, so traps still show function names.
    strip_debuginfo(&mut cargo);
    run_nested(cargo, "wasm");

    // Copies in OUT_DIR belong to this build of the crate: another build
    // rewriting target/wasm-examples cannot change what was embedded.
    let wasm_dir = fresh_dir(&out_dir.join("wasm"));
    let built_dir = target_dir.join(TARGET).join("release");
    let mut entries = Vec::new();
    for example in &examples {
        let file = format!("{}.wasm", example.name);
        entries.push(TableEntry {
            name: example.name.clone(),
            description: example.description.clone(),
            wasm: copy(&built_dir.join(&file), &wasm_dir.join(&file)),
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
    write_wasm_table(&out_dir.join("examples.rs"), &mut entries);
    println!(
        "cargo:rustc-env=FAASRT_EXAMPLES_WASM_DIR={}",
        utf8(&wasm_dir)
    );
    println!("cargo:rustc-env=FAASRT_GO_EXAMPLES_BUILT={go_built}");

    let hostile_wasm_dir = fresh_dir(&out_dir.join("hostile"));
    let mut hostile_entries = Vec::new();
    for bin in hostile.iter().filter(|bin| bin.guest == Some(Guest::Wasm)) {
        let file = format!("{}.wasm", bin.name);
        hostile_entries.push(TableEntry {
            name: bin.name.clone(),
            description: bin.description.clone(),
            wasm: copy(&built_dir.join(&file), &hostile_wasm_dir.join(&file)),
            kind: "Command",
        });
    }
    hostile_entries.extend(wat_modules(&hostile_dir.join("wat"), &hostile_wasm_dir));
    for entry in &hostile_entries {
        assert!(
            !entries.iter().any(|example| example.name == entry.name),
            "the hostile guest {} has the name of an example",
            entry.name
        );
    }
    write_wasm_table(&out_dir.join("hostile.rs"), &mut hostile_entries);

    native_builds(&workspace, &out_dir, &examples, &hostile);
}

/// Writes the `&[Example]` table of `entries`, sorted by name, to `path`.
fn write_wasm_table(path: &Path, entries: &mut [TableEntry]) {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].name == pair[1].name) {
        panic!("two modules are called {}", pair[0].name);
    }
    let mut table = String::from("&[\n");
    for entry in entries.iter() {
        let file = utf8(&entry.wasm);
        writeln!(
            table,
            "    Example {{ name: {:?}, description: {:?}, wasm: include_bytes!({file:?}), kind: ExampleKind::{}, file: {file:?} }},",
            entry.name, entry.description, entry.kind,
        )
        .expect("writing to a String cannot fail");
    }
    table.push(']');
    fs::write(path, table).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Converts each `<name>.wat` in `wat_dir` to `<out_dir>/<name>.wasm`: WASI
/// commands, described by their first `;;` line.
fn wat_modules(wat_dir: &Path, out_dir: &Path) -> Vec<TableEntry> {
    let files = fs::read_dir(wat_dir).unwrap_or_else(|e| panic!("read {}: {e}", wat_dir.display()));
    let mut entries = Vec::new();
    for file in files {
        let path = file
            .unwrap_or_else(|e| panic!("read {}: {e}", wat_dir.display()))
            .path();
        if path.extension().is_none_or(|ext| ext != "wat") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("non-UTF-8 module name {}", path.display()));
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let description = first_comment_line(&text, ";;");
        let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let to = out_dir.join(format!("{name}.wasm"));
        fs::write(&to, wasm).unwrap_or_else(|e| panic!("write {}: {e}", to.display()));
        entries.push(TableEntry {
            name: name.to_owned(),
            description,
            wasm: to,
            kind: "Command",
        });
    }
    entries
}

/// Builds the Rust examples and the native hostile guests for the host, when
/// it is x86_64 Linux, into `<OUT_DIR>/native/<name>-native` and
/// `<OUT_DIR>/hostile-native/<name>-native`, and writes their tables to
/// `<OUT_DIR>/native_examples.rs` and `<OUT_DIR>/hostile_native.rs` (empty,
/// with a warning, elsewhere).
fn native_builds(workspace: &Path, out_dir: &Path, examples: &[BinSource], hostile: &[BinSource]) {
    println!("cargo::rustc-check-cfg=cfg({NATIVE_CFG})");
    let native_dir = fresh_dir(&out_dir.join("native"));
    let hostile_dir = fresh_dir(&out_dir.join("hostile-native"));
    println!(
        "cargo:rustc-env=FAASRT_NATIVE_EXAMPLES_DIR={}",
        utf8(&native_dir)
    );
    let mut table = String::from("&[\n");
    let mut hostile_table = String::from("&[\n");
    match native_host() {
        Ok(host) => {
            let target_dir = workspace.join("target/native-examples");
            let mut cargo = nested_cargo(workspace, &host, &target_dir);
            // Without std's DWARF an example is a few hundred KB rather than
            // several MB; the symbol table stays, for backtraces.
            strip_debuginfo(&mut cargo);
            // A linker set for the host triple is a property of the machine,
            // not a setting of the outer build: keep it.
            let linker = format!(
                "CARGO_TARGET_{}_LINKER",
                host.to_uppercase().replace(['-', '.'], "_")
            );
            if let Some(value) = env::var_os(&linker) {
                cargo.env(&linker, value);
            }
            run_nested(cargo, "native");
            let built_dir = target_dir.join(&host).join("release");
            // `examples` and `hostile` are sorted, and a common suffix keeps
            // them so.
            // An example that says `//! Guest: wasm.` needs the wasm host
            // (its key-value state, say) and has no native twin.
            let native_examples = examples.iter().filter(|bin| bin.guest != Some(Guest::Wasm));
            native_table(&mut table, &built_dir, &native_dir, native_examples);
            let native_hostile = hostile
                .iter()
                .filter(|bin| bin.guest == Some(Guest::Native));
            native_table(&mut hostile_table, &built_dir, &hostile_dir, native_hostile);
            println!("cargo:rustc-cfg={NATIVE_CFG}");
        }
        Err(why) => println!("cargo:warning={why}: NATIVE_EXAMPLES and HOSTILE_NATIVE are empty"),
    }
    for (text, file) in [
        (table, "native_examples.rs"),
        (hostile_table, "hostile_native.rs"),
    ] {
        let path = out_dir.join(file);
        fs::write(&path, text + "]").unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// Copies the executable of each of `bins` from `built_dir` to
/// `<to_dir>/<name>-native` and adds its `NativeExample` row to `table`.
fn native_table<'a>(
    table: &mut String,
    built_dir: &Path,
    to_dir: &Path,
    bins: impl Iterator<Item = &'a BinSource>,
) {
    for bin in bins {
        let name = format!("{}{NATIVE_SUFFIX}", bin.name);
        // fs::copy keeps the mode, so the copy is executable too.
        let to = copy(&built_dir.join(&bin.name), &to_dir.join(&name));
        let file = utf8(&to);
        writeln!(
            table,
            "    NativeExample {{ name: {name:?}, description: {:?}, executable: include_bytes!({file:?}), file: {file:?} }},",
            bin.description,
        )
        .expect("writing to a String cannot fail");
    }
}

/// Empties `dir` (creating it if need be), so that a removed module leaves
/// no stale file behind; returns it.
fn fresh_dir(dir: &Path) -> PathBuf {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("remove {}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir.to_path_buf()
}

/// Copies `from` to `to`; returns `to`.
fn copy(from: &Path, to: &Path) -> PathBuf {
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    to.to_path_buf()
}

/// The host triple, if the native examples are built on this host: only for
/// x86_64 Linux, and only when this crate is built for the host itself, since
/// executables built for the host are what it embeds.
fn native_host() -> Result<String, String> {
    let host = env_string("HOST");
    let target = env_string("TARGET");
    let arch = env_string("CARGO_CFG_TARGET_ARCH");
    let os = env_string("CARGO_CFG_TARGET_OS");
    if arch != "x86_64" || os != "linux" {
        return Err(format!(
            "the native examples are built only on x86_64 Linux, not for {target} ({arch} {os})"
        ));
    }
    if host != target {
        return Err(format!(
            "the native examples are built for the host, {host}, which is not the target, {target}"
        ));
    }
    Ok(host)
}

/// One row of the generated table.
struct TableEntry {
    name: String,
    description: String,
    wasm: PathBuf,
    /// The `ExampleKind` variant.
    kind: &'static str,
}

/// A binary found in a package's `src/bin`.
struct BinSource {
    name: String,
    /// The first `//!` line of its source.
    description: String,
    /// What its `//! Guest: wasm.` or `//! Guest: native.` line says, if it
    /// has one (the hostile guests must; the examples run as both unless
    /// they say `wasm`).
    guest: Option<Guest>,
}

/// How a hostile guest is meant to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guest {
    Wasm,
    Native,
}

/// Finds the binaries of a package the way cargo does: `src/bin/x.rs` and
/// `src/bin/x/main.rs`; sorted by name.
fn discover_bins(bin_dir: &Path) -> Vec<BinSource> {
    let entries =
        fs::read_dir(bin_dir).unwrap_or_else(|e| panic!("read {}: {e}", bin_dir.display()));
    let mut bins = Vec::new();
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
        let guest = doc_lines(&text, "//!")
            .find_map(|line| line.strip_prefix("Guest:"))
            .map(|guest| match guest.trim().trim_end_matches('.') {
                "wasm" => Guest::Wasm,
                "native" => Guest::Native,
                other => panic!("{}: unknown `Guest: {other}`", source.display()),
            });
        bins.push(BinSource {
            name: name.to_owned(),
            description: first_comment_line(&text, "//!"),
            guest,
        });
    }
    bins.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!bins.is_empty(), "no binaries in {}", bin_dir.display());
    bins
}

/// The text of the lines of `source` that start with `marker` (`//!`,
/// `;;`), trimmed.
fn doc_lines<'a>(source: &'a str, marker: &'a str) -> impl Iterator<Item = &'a str> {
    source
        .lines()
        .filter_map(move |line| line.trim_start().strip_prefix(marker))
        .map(str::trim)
}

/// The first line of `source` that starts with `marker`, without it: a
/// module's one-line description. Empty if there is none.
fn first_comment_line(source: &str, marker: &str) -> String {
    doc_lines(source, marker)
        .next()
        .unwrap_or_default()
        .to_owned()
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

/// A `cargo build --release --target <target> -p faasrt-examples
/// -p faasrt-hostile --bins --features faasrt-examples/bins` ([`PACKAGES`]) into `target_dir`, without the settings of the outer build: see
/// [`LEAKING_PREFIXES`] and [`LEAKING_NAMES`].
fn nested_cargo(workspace: &Path, target: &str, target_dir: &Path) -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", target])
        .args(PACKAGES.iter().flat_map(|package| ["-p", package]))
        .arg("--bins")
        // The examples' binaries are behind this feature, so that no build
        // of the workspace itself puts a `cat` or `grep` in target/release.
        .args(["--features", "faasrt-examples/bins"])
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
    command
}

/// Builds without debug info and strips std's: the workspace's release
/// profile keeps line tables, which the embedded examples do not need.
fn strip_debuginfo(command: &mut Command) {
    command
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
}

/// Runs a nested cargo from [`nested_cargo`]; `what` names the build in
/// messages.
fn run_nested(mut command: Command, what: &str) {
    let started = Instant::now();
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    assert!(
        status.success(),
        "the nested {what} build of the examples failed ({status}); its output is above"
    );
    eprintln!(
        "nested {what} build of {} took {:.1?}",
        PACKAGES.join(" and "),
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

fn env_string(name: &str) -> String {
    env_var(name)
        .into_string()
        .unwrap_or_else(|v| panic!("{name}={v:?} is not UTF-8"))
}

/// Paths go into generated Rust source as string literals.
fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("path {} is not UTF-8", path.display()))
}
