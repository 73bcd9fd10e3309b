//! faasrt-snapshots: what turns a deployed module into something that starts
//! fast, and the keys under which the results are cached.
//!
//! A module is identified by the SHA-256 digest of its bytes. Its compiled
//! form (a precompiled artifact) is only valid for the engine configuration
//! that produced it, so artifacts are keyed by digest *and* an
//! [`EngineFingerprint`]. Each artifact's [`ArtifactChecksum`] is recorded
//! when it is written, and an artifact whose checksum does not match is
//! refused instead of being handed to wasmtime.
//!
//! Pre-initialization ([`preinitialize`]) runs a module's `wizer-initialize`
//! once at deploy and snapshots its memory and globals into a new module, so
//! that no invocation pays for that initialization again.
//!
//! This crate knows nothing of HTTP or of the store; `faasrt-runtime` uses it.

mod artifact;
mod digest;
mod preinit;

pub use artifact::{ArtifactChecksum, ArtifactError, ArtifactKey, EngineFingerprint};
pub use digest::ModuleDigest;
pub use preinit::{INIT_EXPORT, ModuleShape, Snapshot, preinitialize};
