//! The WebAssembly side of the runtime: the wasmtime engine and its
//! configuration (`engine`, `engines`), how guest memories are laid out in
//! the pooling allocator (`memory_layout`), compiled modules (`module`),
//! running a guest (`guest_run`, `epoch`), and precompiled artifacts on disk
//! (`artifacts`, `artifact_cache`).
//!
//! What must not live here: native executables (`native/`), the function
//! registry and the public API (`runtime.rs`, `registry.rs`), storage of
//! function metadata (`store/`).

pub(crate) mod artifact_cache;
pub(crate) mod artifacts;
pub(crate) mod engine;
pub(crate) mod engines;
pub(crate) mod epoch;
mod guest_run;
pub(crate) mod memory_layout;
pub(crate) mod module;
#[cfg(test)]
mod pkeys_tests;

pub(crate) use module::PreparedModule;
