//! faasrt-snapshots: what turns a deployed module into something that starts
//! fast, and the keys under which the results are cached.
//!
//! A module is identified by the SHA-256 digest of its bytes. Its compiled
//! form (a precompiled artifact) is only valid for the engine configuration
//! that produced it, so artifacts are keyed by digest *and* an
//! [`EngineFingerprint`]. Artifacts are sealed with a checksum before they are
//! stored, and a sealed artifact whose checksum does not match is refused
//! instead of being handed to wasmtime.
//!
//! This crate knows nothing of HTTP or of the store; `faasrt-runtime` uses it.

mod artifact;
mod digest;

pub use artifact::{ArtifactError, ArtifactKey, EngineFingerprint, seal, unseal};
pub use digest::ModuleDigest;
