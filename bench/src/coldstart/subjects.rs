//! The functions `faasrt-bench coldstart` starts: the `hello` and
//! `init-heavy` examples, in Rust and in Go, with the input each gets and
//! the output it must answer. A Go example that is not built is skipped
//! with a note.

use bytes::Bytes;

/// A function to start: its example name, input and expected output.
pub(super) struct Subject {
    /// The example's name, also the deployed function's name.
    pub(super) name: &'static str,
    /// The example's module.
    pub(super) wasm: &'static [u8],
    /// Whether the module is a reactor (Go), invoked through its `handle`
    /// export rather than run as a command.
    pub(super) reactor: bool,
    /// What the function reads on stdin.
    pub(super) input: Bytes,
    /// What it must answer (the start of its stdout under `wasmtime run`).
    pub(super) expected: Bytes,
}

/// The subjects whose examples are built, in the order they are measured.
pub(super) fn built() -> Vec<Subject> {
    let heavy_expected = Bytes::from(format!(
        "12345 -> {}\n",
        12_345u32.wrapping_mul(2_654_435_761)
    ));
    let mut subjects = Vec::new();
    for (name, reactor, input, expected) in [
        (
            "hello",
            false,
            Bytes::new(),
            Bytes::from_static(b"Hello, world!\n"),
        ),
        (
            "init-heavy",
            false,
            Bytes::from_static(b"12345\n"),
            heavy_expected.clone(),
        ),
        (
            "go-hello",
            true,
            Bytes::new(),
            Bytes::from_static(b"Hello, world!\n"),
        ),
        (
            "go-init-heavy",
            true,
            Bytes::from_static(b"12345\n"),
            heavy_expected.clone(),
        ),
    ] {
        match faasrt_example_artifacts::get(name) {
            Some(example) => subjects.push(Subject {
                name,
                wasm: example.wasm,
                reactor,
                input,
                expected,
            }),
            None => eprintln!(
                "note: example {name} is not built (Go missing? run scripts/install-go.sh); skipped"
            ),
        }
    }
    subjects
}
