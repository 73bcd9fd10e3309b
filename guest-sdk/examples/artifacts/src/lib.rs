//! The example functions of `guest-sdk/examples`, built for `wasm32-wasip1`
//! and embedded, for tests and benchmarks of the host crates.
//!
//! The build script compiles the binaries of `faasrt-examples` with a nested
//! cargo into `target/wasm-examples` (installing the `wasm32-wasip1` target
//! with rustup if it is missing), the way wasmtime's `test-programs` crate
//! does. A binary added to `guest-sdk/examples/src/bin`, with its
//! `[[bin]]` entry behind the `bins` feature in that package's
//! `Cargo.toml`, appears in [`EXAMPLES`] without further changes. (The
//! feature keeps the workspace's own builds from making host binaries named
//! `cat` or `grep` in `target/release`.)
//!
//! The Go examples of `guest-sdk/examples/go` (`go-hello`, `go-upper`,
//! `go-init-heavy`, `go-random`: one directory each, named like the
//! function) are built too when Go 1.27 or later is available: from
//! `$FAASRT_GO`, else where `scripts/install-go.sh` installs it
//! (`${FAASRT_CACHE:-$HOME/.cache/faasrt}/go`), else `go` on `PATH`. They are
//! WASI reactors ([`ExampleKind::Reactor`]), built with
//! `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`. Without Go they
//! are left out with a build warning; [`go_examples_built`] tells which
//! happened.
//!
//! On an x86_64 Linux host the Rust examples are also built for the host, as
//! native executables ([`NATIVE_EXAMPLES`], named `<name>-native`), with a
//! second nested cargo into `target/native-examples`; elsewhere that list is
//! empty and the build says why in a warning.
//!
//! The same builds compile the hostile guests of `guest-sdk/examples/hostile`
//! (package `faasrt-hostile`), for the isolation tests: [`HOSTILE`] holds the
//! wasm ones (infinite loop, memory bomb, deep recursion, output flood, table
//! growth, calls on descriptors never granted, a trap at init) and
//! [`HOSTILE_NATIVE`] the native ones (fork bomb, reading `/etc/shadow`, a
//! socket, ptrace, exec of a shell, writing to stdin), named `<name>-native`.
//! They are kept apart from [`EXAMPLES`] and [`NATIVE_EXAMPLES`], which
//! `faasrt serve --examples` deploys: never deploy them outside a test.
//!
//! ```
//! let hello = faasrt_example_artifacts::get("hello").expect("hello is an example");
//! assert!(hello.wasm.starts_with(b"\0asm"));
//!
//! if let Some(cat) = faasrt_example_artifacts::get_native("cat-native") {
//!     assert!(cat.executable.starts_with(b"\x7fELF"));
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// How the runtime runs an example's module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExampleKind {
    /// A WASI command: one invocation runs `_start`.
    Command,
    /// A WASI reactor (the Go examples): one invocation runs `_initialize`
    /// (unless the module was pre-initialized, which removes that export),
    /// then the `handle` export, whose `i32` result is the exit status.
    Reactor,
}

/// One example function, compiled to a WASI preview-1 module.
#[derive(Clone, Copy)]
pub struct Example {
    /// The binary's name, which is also the function's name: `hello`, `grep`, ...
    pub name: &'static str,
    /// One line on what the function does: the first `//!` line of its source.
    pub description: &'static str,
    /// The module's bytes (`wasm32-wasip1`, release profile; for Go,
    /// `GOOS=wasip1 GOARCH=wasm`).
    pub wasm: &'static [u8],
    /// A command (the Rust examples) or a reactor (the Go ones).
    pub kind: ExampleKind,
    /// The path of the `.wasm` file in this crate's build output.
    file: &'static str,
}

impl Example {
    /// The path of this example's `.wasm` file: in [`wasm_dir`] for
    /// [`EXAMPLES`], next to the other hostile modules for [`HOSTILE`].
    pub fn path(&self) -> PathBuf {
        PathBuf::from(self.file)
    }
}

impl fmt::Debug for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Example")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("wasm", &format_args!("<{} bytes>", self.wasm.len()))
            .field("kind", &self.kind)
            .finish()
    }
}

/// All example functions, sorted by name.
pub const EXAMPLES: &[Example] = include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The example called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.name == name)
}

/// Whether the Go examples are in [`EXAMPLES`]: false when this crate was
/// built without a Go toolchain (the build printed a warning saying how to
/// install one).
pub fn go_examples_built() -> bool {
    env!("FAASRT_GO_EXAMPLES_BUILT") == "true"
}

/// The names of the Go examples, built or not.
pub const GO_EXAMPLES: &[&str] = &[
    "go-counter",
    "go-hello",
    "go-init-heavy",
    "go-random",
    "go-sessionize",
    "go-upper",
];

/// The directory that holds the `.wasm` files of [`EXAMPLES`], one
/// `<name>.wasm` each, for code that wants paths rather than bytes.
///
/// It is in this crate's build output, so it exists as long as the build
/// that compiled this crate does.
pub fn wasm_dir() -> &'static Path {
    Path::new(env!("FAASRT_EXAMPLES_WASM_DIR"))
}

/// One Rust example function, compiled as a native executable for the host
/// (`x86_64-unknown-linux-gnu`): the same program as the [`Example`] without
/// the `-native` suffix, for running it outside a wasm engine.
#[derive(Clone, Copy)]
pub struct NativeExample {
    /// The binary's name with `-native` appended: `cat-native`, `grep-native`, ...
    pub name: &'static str,
    /// One line on what the function does: the first `//!` line of its source.
    pub description: &'static str,
    /// The executable's bytes (an ELF file; release profile, without debug
    /// info, symbols kept).
    pub executable: &'static [u8],
    /// The path of the executable in this crate's build output.
    file: &'static str,
}

impl NativeExample {
    /// The path of this example's executable (mode 0755): in [`native_dir`]
    /// for [`NATIVE_EXAMPLES`], next to the other hostile executables for
    /// [`HOSTILE_NATIVE`].
    pub fn path(&self) -> PathBuf {
        PathBuf::from(self.file)
    }
}

impl fmt::Debug for NativeExample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeExample")
            .field("name", &self.name)
            .field("description", &self.description)
            .field(
                "executable",
                &format_args!("<{} bytes>", self.executable.len()),
            )
            .finish()
    }
}

/// The Rust examples as native executables, sorted by name; empty unless
/// this crate was built on, and for, an x86_64 Linux host (see
/// [`native_examples_built`]).
pub const NATIVE_EXAMPLES: &[NativeExample] =
    include!(concat!(env!("OUT_DIR"), "/native_examples.rs"));

/// The native example called `name` (`cat-native`, ...), if there is one.
pub fn get_native(name: &str) -> Option<&'static NativeExample> {
    NATIVE_EXAMPLES.iter().find(|example| example.name == name)
}

/// Whether [`NATIVE_EXAMPLES`] holds the Rust examples: false when this crate
/// was not built on and for x86_64 Linux (the build printed a warning).
pub fn native_examples_built() -> bool {
    cfg!(faasrt_native_examples)
}

/// The directory that holds the executables of [`NATIVE_EXAMPLES`], one
/// `<name>-native` each; empty where none are built. Like [`wasm_dir`], it is
/// in this crate's build output.
pub fn native_dir() -> &'static Path {
    Path::new(env!("FAASRT_NATIVE_EXAMPLES_DIR"))
}

/// The hostile wasm guests, sorted by name: the `//! Guest: wasm.` binaries
/// of `faasrt-hostile` and its hand-written `wat/` modules, all WASI
/// commands. Each should end its invocation (or, for `hostile-init-trap`,
/// its deploy) with a clear error:
///
/// - `hostile-loop`: spins forever in pure compute (a time limit);
/// - `hostile-memory-bomb`: allocates until allocation fails (a trap once
///   `memory.grow` is refused);
/// - `hostile-recursion`: recurses until the stack overflows (a trap);
/// - `hostile-output-flood`: writes to faasout forever, ignoring errors (the
///   output limit, or else the time limit);
/// - `hostile-table-growth`: grows its funcref table 10 million entries at a
///   time, trapping once a grow is refused (from `wat/`);
/// - `hostile-bad-fds`: reads, writes, opens and closes descriptors it was
///   never granted, reports each error code on faasout, and exits 0;
/// - `hostile-init-trap`: panics in its pre-initialization hook (its deploy
///   fails).
pub const HOSTILE: &[Example] = include!(concat!(env!("OUT_DIR"), "/hostile.rs"));

/// The hostile wasm guest called `name` (`hostile-loop`, ...), if there is
/// one.
pub fn get_hostile(name: &str) -> Option<&'static Example> {
    HOSTILE.iter().find(|guest| guest.name == name)
}

/// The hostile native guests, sorted by name: the `//! Guest: native.`
/// binaries of `faasrt-hostile`, built for the host and named
/// `<name>-native`; empty where [`NATIVE_EXAMPLES`] is (see
/// [`native_examples_built`]). Never run them outside a sandbox:
///
/// - `hostile-fork-bomb-native`: every process forks until fork fails, then
///   waits to be killed; the original exits 1 (or 0 if a fuse of 1024 fork
///   attempts ran out first: nothing limited it);
/// - `hostile-read-shadow-native`: reads `/etc/shadow` (exit 1 with the
///   error, or `READ <n> bytes` and 0);
/// - `hostile-setsid-escape-native`: a child calls `setsid` and `setpgid`
///   to leave the process group faasrt kills, and waits if it got out
///   (exit 1 if both are refused, `ESCAPED` and 0 if not);
/// - `hostile-socket-native`: opens a TCP socket and connects to
///   127.0.0.1:9 (exit 1 if the socket is refused);
/// - `hostile-ptrace-native`: `PTRACE_TRACEME`, then `PTRACE_ATTACH` on its
///   parent, detaching at once (exit 1 if both are refused);
/// - `hostile-exec-shell-native`: execs `/bin/sh -c 'echo ESCAPED'` (exit 1
///   with the error if refused);
/// - `hostile-stdin-write-native`: writes to its own fd 0 and reports the
///   result (exit 0).
pub const HOSTILE_NATIVE: &[NativeExample] =
    include!(concat!(env!("OUT_DIR"), "/hostile_native.rs"));

/// The hostile native guest called `name` (`hostile-fork-bomb-native`, ...),
/// if there is one.
pub fn get_hostile_native(name: &str) -> Option<&'static NativeExample> {
    HOSTILE_NATIVE.iter().find(|guest| guest.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_wasm_module() {
        for example in EXAMPLES {
            assert!(example.wasm.starts_with(b"\0asm"), "{example:?}");
        }
    }

    #[test]
    fn all_examples_are_built() {
        let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        for name in ["cat", "grep", "head", "hello", "upper", "wc"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }

    #[test]
    fn get_finds_hello_and_nothing_else() {
        let hello = get("hello").expect("hello is built");
        assert_eq!(hello.name, "hello");
        assert!(hello.description.starts_with("Greets"), "{hello:?}");
        assert!(get("no-such-example").is_none());
    }

    #[test]
    fn rust_examples_are_commands() {
        for name in ["cat", "grep", "head", "hello", "upper", "wc"] {
            let example = get(name).expect("built");
            assert_eq!(example.kind, ExampleKind::Command, "{example:?}");
            assert!(contains(example.wasm, b"_start"), "{name} exports _start");
        }
    }

    #[test]
    fn go_examples_are_reactors_when_built() {
        let go: Vec<&Example> = EXAMPLES
            .iter()
            .filter(|e| e.kind == ExampleKind::Reactor)
            .collect();
        if !go_examples_built() {
            assert!(go.is_empty(), "{go:?}");
            eprintln!("Go examples not built (no Go toolchain); run scripts/install-go.sh");
            return;
        }
        let names: Vec<&str> = go.iter().map(|e| e.name).collect();
        assert_eq!(names, GO_EXAMPLES);
        for example in go {
            assert!(!example.description.is_empty(), "{example:?}");
            // The guest ABI of a Go reactor: `handle` and the pre-init hook,
            // and the Go runtime's start as `_initialize` rather than `_start`.
            for export in [&b"handle"[..], b"wizer-initialize", b"_initialize"] {
                assert!(
                    contains(example.wasm, export),
                    "{} lacks {}",
                    example.name,
                    String::from_utf8_lossy(export)
                );
            }
            assert!(!contains(example.wasm, b"\x06_start"), "{example:?}");
        }
        let hello = get("go-hello").expect("built");
        assert!(hello.description.starts_with("Greets"), "{hello:?}");
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn files_in_wasm_dir_match_the_embedded_bytes() {
        for example in EXAMPLES {
            let on_disk = std::fs::read(example.path()).expect("the .wasm file exists");
            assert!(on_disk == example.wasm, "{} differs on disk", example.name);
        }
    }

    #[test]
    fn native_examples_are_elf_executables() {
        for example in NATIVE_EXAMPLES {
            assert!(example.executable.starts_with(b"\x7fELF"), "{example:?}");
            assert!(example.name.ends_with("-native"), "{example:?}");
            let on_disk = std::fs::read(example.path()).expect("the executable exists");
            assert!(
                on_disk == example.executable,
                "{} differs on disk",
                example.name
            );
        }
        let names: Vec<&str> = NATIVE_EXAMPLES.iter().map(|e| e.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        if !native_examples_built() {
            assert!(names.is_empty(), "{names:?}");
            return;
        }
        for name in ["cat", "grep", "head", "hello", "upper", "wc", "yes"] {
            let native = get_native(&format!("{name}-native")).expect("built");
            let wasm = get(name).expect("built");
            assert_eq!(native.description, wasm.description, "{native:?}");
        }
        assert!(get_native("cat").is_none());
    }

    /// The build script sets `faasrt_native_examples` only on, and for,
    /// x86_64 Linux; anywhere else there is nothing to run.
    #[test]
    #[cfg(unix)]
    #[cfg_attr(
        not(faasrt_native_examples),
        ignore = "native examples are built only on x86_64 Linux"
    )]
    fn cat_native_copies_its_input() {
        use std::io::{ErrorKind, Write};
        use std::os::unix::fs::OpenOptionsExt;
        use std::process::{Command, Stdio};

        let cat = get_native("cat-native").expect("built");
        let path = std::env::temp_dir().join(format!(
            "faasrt-cat-native-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o755)
                .open(&path)
                .expect("create the temp file");
            file.write_all(cat.executable).expect("write it");
        }
        // A fork elsewhere in this process may still hold the written file
        // open for a moment, which makes exec fail with ETXTBSY.
        let mut tries = 0;
        let child = loop {
            match Command::new(&path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
            {
                Err(e) if e.kind() == ErrorKind::ExecutableFileBusy && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        let mut child = child.expect("run cat-native");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(b"abc")
            .expect("write stdin");
        let output = child.wait_with_output().expect("wait for cat-native");
        std::fs::remove_file(&path).expect("remove the temp file");
        assert!(
            output.status.success(),
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.stdout, b"abc");
    }

    const HOSTILE_WASM_NAMES: &[&str] = &[
        "hostile-bad-fds",
        "hostile-init-trap",
        "hostile-loop",
        "hostile-memory-bomb",
        "hostile-output-flood",
        "hostile-recursion",
        "hostile-table-growth",
    ];

    const HOSTILE_NATIVE_NAMES: &[&str] = &[
        "hostile-exec-shell-native",
        "hostile-fork-bomb-native",
        "hostile-ptrace-native",
        "hostile-read-shadow-native",
        "hostile-setsid-escape-native",
        "hostile-socket-native",
        "hostile-stdin-write-native",
    ];

    #[test]
    fn hostile_guests_are_wasm_commands_on_disk() {
        let names: Vec<&str> = HOSTILE.iter().map(|g| g.name).collect();
        assert_eq!(names, HOSTILE_WASM_NAMES);
        for guest in HOSTILE {
            assert!(guest.wasm.starts_with(b"\0asm"), "{guest:?}");
            assert_eq!(guest.kind, ExampleKind::Command, "{guest:?}");
            assert!(contains(guest.wasm, b"_start"), "{guest:?}");
            assert!(!guest.description.is_empty(), "{guest:?}");
            let on_disk = std::fs::read(guest.path()).expect("the .wasm file exists");
            assert!(on_disk == guest.wasm, "{} differs on disk", guest.name);
            assert!(!guest.path().starts_with(wasm_dir()), "{guest:?}");
        }
        assert!(get_hostile("hostile-loop").is_some());
        assert!(get_hostile("hello").is_none());
        // The module that traps at init exports the pre-initialization hook.
        let init_trap = get_hostile("hostile-init-trap").expect("built");
        assert!(contains(init_trap.wasm, b"wizer-initialize"));
    }

    #[test]
    fn hostile_native_guests_are_elf_executables_on_disk() {
        let names: Vec<&str> = HOSTILE_NATIVE.iter().map(|g| g.name).collect();
        if !native_examples_built() {
            assert!(names.is_empty(), "{names:?}");
            return;
        }
        assert_eq!(names, HOSTILE_NATIVE_NAMES);
        for guest in HOSTILE_NATIVE {
            assert!(guest.executable.starts_with(b"\x7fELF"), "{guest:?}");
            assert!(!guest.description.is_empty(), "{guest:?}");
            let on_disk = std::fs::read(guest.path()).expect("the executable exists");
            assert!(
                on_disk == guest.executable,
                "{} differs on disk",
                guest.name
            );
            assert!(!guest.path().starts_with(native_dir()), "{guest:?}");
        }
        assert!(get_hostile_native("hostile-fork-bomb-native").is_some());
        assert!(get_hostile_native("hostile-fork-bomb").is_none());
    }

    #[test]
    fn hostile_guests_stay_out_of_the_examples() {
        for guest in HOSTILE {
            assert!(get(guest.name).is_none(), "{guest:?} is an example");
            assert!(get_native(guest.name).is_none(), "{guest:?}");
        }
        for guest in HOSTILE_NATIVE {
            assert!(get_native(guest.name).is_none(), "{guest:?} is an example");
            assert!(get(guest.name).is_none(), "{guest:?}");
        }
        for example in EXAMPLES {
            assert!(!example.name.starts_with("hostile"), "{example:?}");
        }
        for example in NATIVE_EXAMPLES {
            assert!(!example.name.starts_with("hostile"), "{example:?}");
        }
    }
}
