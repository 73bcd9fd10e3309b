//! The example functions of `guest-sdk/examples`, built for `wasm32-wasip1`
//! and embedded, for tests and benchmarks of the host crates.
//!
//! The build script compiles the binaries of `faasrt-examples` with a nested
//! cargo into `target/wasm-examples` (installing the `wasm32-wasip1` target
//! with rustup if it is missing), the way wasmtime's `test-programs` crate
//! does. A binary added to `guest-sdk/examples/src/bin` appears in
//! [`EXAMPLES`] without further changes.
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
}

impl Example {
    /// The path of this example's `.wasm` file, in [`wasm_dir`].
    pub fn path(&self) -> PathBuf {
        wasm_dir().join(format!("{}.wasm", self.name))
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
pub const GO_EXAMPLES: &[&str] = &["go-hello", "go-init-heavy", "go-random", "go-upper"];

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
}

impl NativeExample {
    /// The path of this example's executable (mode 0755), in [`native_dir`].
    pub fn path(&self) -> PathBuf {
        native_dir().join(self.name)
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
}
