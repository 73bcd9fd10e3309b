//! The example functions of `guest-sdk/examples`, built for `wasm32-wasip1`
//! and embedded, for tests and benchmarks of the host crates.
//!
//! The build script compiles the binaries of `faasrt-examples` with a nested
//! cargo into `target/wasm-examples` (installing the `wasm32-wasip1` target
//! with rustup if it is missing), the way wasmtime's `test-programs` crate
//! does. A binary added to `guest-sdk/examples/src/bin` appears in
//! [`EXAMPLES`] without further changes.
//!
//! ```
//! let hello = faasrt_example_artifacts::get("hello").expect("hello is an example");
//! assert!(hello.wasm.starts_with(b"\0asm"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// One example function, compiled to a WASI preview-1 command module.
#[derive(Clone, Copy)]
pub struct Example {
    /// The binary's name, which is also the function's name: `hello`, `grep`, ...
    pub name: &'static str,
    /// One line on what the function does: the first `//!` line of its source.
    pub description: &'static str,
    /// The module's bytes (`wasm32-wasip1`, release profile).
    pub wasm: &'static [u8],
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
            .finish()
    }
}

/// All example functions, sorted by name.
pub const EXAMPLES: &[Example] = include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The example called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.name == name)
}

/// The directory that holds the `.wasm` files of [`EXAMPLES`], one
/// `<name>.wasm` each, for code that wants paths rather than bytes.
///
/// It is in this crate's build output, so it exists as long as the build
/// that compiled this crate does.
pub fn wasm_dir() -> &'static Path {
    Path::new(env!("FAASRT_EXAMPLES_WASM_DIR"))
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
    fn files_in_wasm_dir_match_the_embedded_bytes() {
        for example in EXAMPLES {
            let on_disk = std::fs::read(example.path()).expect("the .wasm file exists");
            assert!(on_disk == example.wasm, "{} differs on disk", example.name);
        }
    }
}
