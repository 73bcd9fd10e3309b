//! Precompiled artifacts: their cache key and their checksum seal.

use crate::ModuleDigest;
use sha2::{Digest, Sha256};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Identifies the engine configuration that a precompiled artifact is valid
/// for: the wasmtime version plus every compilation setting, as wasmtime's
/// own `precompile_compatibility_hash` sees them.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EngineFingerprint(String);

impl EngineFingerprint {
    /// Computes the fingerprint of `engine`.
    ///
    /// The hash is fed through SHA-256 rather than `DefaultHasher`, whose
    /// output may change between Rust releases: a fingerprint must stay stable
    /// for as long as the engine is the same.
    pub fn of(engine: &wasmtime::Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = hasher.0.finalize();
        EngineFingerprint(hex::encode(&digest[..16]))
    }

    /// The fingerprint as text (32 hex digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EngineFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Adapts SHA-256 to `std::hash::Hasher` so a `Hash` value can be digested.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        // Never called: the digest is taken from the inner state.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The key under which a precompiled artifact is stored: the module's digest
/// and the fingerprint of the engine that compiled it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ArtifactKey {
    digest: ModuleDigest,
    fingerprint: EngineFingerprint,
}

impl ArtifactKey {
    /// Builds the key of `digest` compiled by an engine with `fingerprint`.
    pub fn new(digest: ModuleDigest, fingerprint: EngineFingerprint) -> Self {
        ArtifactKey {
            digest,
            fingerprint,
        }
    }

    /// The module digest part of the key.
    pub fn digest(&self) -> &ModuleDigest {
        &self.digest
    }

    /// The key as one string, `<digest>@<fingerprint>`; every key of one
    /// digest starts with [`ArtifactKey::prefix_of`] that digest.
    pub fn to_key_string(&self) -> String {
        format!("{}{}", Self::prefix_of(&self.digest), self.fingerprint)
    }

    /// The prefix shared by the keys of every artifact of `digest`, whatever
    /// engine compiled them (used to delete them all).
    pub fn prefix_of(digest: &ModuleDigest) -> String {
        format!("{digest}@")
    }
}

/// Why a sealed artifact was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    /// The sealed bytes are shorter than their checksum.
    #[error("precompiled artifact is truncated ({len} bytes)")]
    Truncated {
        /// How many bytes there were.
        len: usize,
    },
    /// The checksum does not match the contents.
    #[error("precompiled artifact failed its checksum")]
    ChecksumMismatch,
}

const CHECKSUM_LEN: usize = 32;

/// Prefixes `artifact` with its SHA-256 checksum, for storage.
pub fn seal(artifact: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(CHECKSUM_LEN + artifact.len());
    sealed.extend_from_slice(&Sha256::digest(artifact));
    sealed.extend_from_slice(artifact);
    sealed
}

/// Checks a sealed artifact and returns the artifact inside it.
///
/// Fails with [`ArtifactError`] when the bytes are truncated or corrupted;
/// such an artifact must be recompiled, never deserialized.
pub fn unseal(sealed: &[u8]) -> Result<&[u8], ArtifactError> {
    if sealed.len() < CHECKSUM_LEN {
        return Err(ArtifactError::Truncated { len: sealed.len() });
    }
    let (checksum, artifact) = sealed.split_at(CHECKSUM_LEN);
    if Sha256::digest(artifact).as_slice() != checksum {
        return Err(ArtifactError::ChecksumMismatch);
    }
    Ok(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseal_returns_what_was_sealed() {
        let sealed = seal(b"compiled code");
        assert_eq!(unseal(&sealed), Ok(&b"compiled code"[..]));
    }

    #[test]
    fn unseal_refuses_a_flipped_bit() {
        let mut sealed = seal(b"compiled code");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(unseal(&sealed), Err(ArtifactError::ChecksumMismatch));
    }

    #[test]
    fn unseal_refuses_truncated_bytes() {
        assert_eq!(unseal(&[1, 2, 3]), Err(ArtifactError::Truncated { len: 3 }));
    }

    #[test]
    fn fingerprint_differs_between_engine_configurations() {
        let plain = wasmtime::Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let interruptible = wasmtime::Engine::new(&config).expect("engine");
        assert_eq!(
            EngineFingerprint::of(&plain),
            EngineFingerprint::of(&wasmtime::Engine::default())
        );
        assert_ne!(
            EngineFingerprint::of(&plain),
            EngineFingerprint::of(&interruptible)
        );
    }

    #[test]
    fn artifact_keys_of_one_digest_share_its_prefix() {
        let digest = ModuleDigest::of(b"m");
        let key = ArtifactKey::new(
            digest.clone(),
            EngineFingerprint::of(&wasmtime::Engine::default()),
        );
        assert!(
            key.to_key_string()
                .starts_with(&ArtifactKey::prefix_of(&digest))
        );
    }
}
