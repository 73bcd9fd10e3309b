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

    /// Reads a fingerprint from its text form (32 hex digits).
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| EngineFingerprint(text.to_owned()))
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

    /// The engine fingerprint part of the key.
    pub fn fingerprint(&self) -> &EngineFingerprint {
        &self.fingerprint
    }

    /// A file name for the artifact: `<hex digest>-<fingerprint>.cwasm`.
    pub fn file_name(&self) -> String {
        let hex = self.digest.as_str().trim_start_matches("sha256:");
        format!("{hex}-{}.cwasm", self.fingerprint)
    }

    /// The key as one string, `<digest>@<fingerprint>`; every key of one
    /// digest starts with [`ArtifactKey::prefix_of`] that digest.
    pub fn to_key_string(&self) -> String {
        format!("{}{}", Self::prefix_of(&self.digest), self.fingerprint)
    }

    /// Reads a key from [`ArtifactKey::to_key_string`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        let (digest, fingerprint) = text.split_once('@')?;
        Some(ArtifactKey {
            digest: ModuleDigest::parse(digest)?,
            fingerprint: EngineFingerprint::parse(fingerprint)?,
        })
    }

    /// The prefix shared by the keys of every artifact of `digest`, whatever
    /// engine compiled them (used to delete them all).
    pub fn prefix_of(digest: &ModuleDigest) -> String {
        format!("{digest}@")
    }
}

/// Why a stored artifact was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    /// The artifact's length is not the one recorded.
    #[error("precompiled artifact has {actual} bytes, {expected} were recorded")]
    WrongLength {
        /// Recorded length.
        expected: u64,
        /// Length found.
        actual: u64,
    },
    /// The checksum does not match the contents.
    #[error("precompiled artifact failed its checksum")]
    ChecksumMismatch,
    /// The recorded checksum is not 16 bytes of hash plus a length.
    #[error("precompiled artifact record is malformed")]
    MalformedRecord,
}

/// The checksum (XXH3-128) and length of a precompiled artifact, recorded
/// when it is written and checked before it is loaded: wasmtime trusts the
/// bytes it deserializes, so a damaged artifact must never reach it.
///
/// The checksum guards against damage (a torn write, a flipped bit), not
/// against someone who can write the data directory: such a person could
/// rewrite the store too. XXH3 checks tens of GB/s, where SHA-256 made
/// verifying artifacts most of a restart's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArtifactChecksum {
    hash: u128,
    len: u64,
}

impl ArtifactChecksum {
    /// The checksum of `artifact`.
    pub fn of(artifact: &[u8]) -> Self {
        ArtifactChecksum {
            hash: xxhash_rust::xxh3::xxh3_128(artifact),
            len: artifact.len() as u64,
        }
    }

    /// Checks `artifact` against this checksum.
    ///
    /// # Errors
    /// [`ArtifactError::WrongLength`] or [`ArtifactError::ChecksumMismatch`].
    pub fn verify(&self, artifact: &[u8]) -> Result<(), ArtifactError> {
        if artifact.len() as u64 != self.len {
            return Err(ArtifactError::WrongLength {
                expected: self.len,
                actual: artifact.len() as u64,
            });
        }
        if xxhash_rust::xxh3::xxh3_128(artifact) != self.hash {
            return Err(ArtifactError::ChecksumMismatch);
        }
        Ok(())
    }

    /// The checksum as 24 bytes for storage: the hash, then the length
    /// (both little-endian).
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut bytes = [0u8; 24];
        bytes[..16].copy_from_slice(&self.hash.to_le_bytes());
        bytes[16..].copy_from_slice(&self.len.to_le_bytes());
        bytes
    }

    /// Reads a checksum written by [`ArtifactChecksum::to_bytes`].
    ///
    /// # Errors
    /// [`ArtifactError::MalformedRecord`] for anything but 24 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ArtifactError> {
        let bytes: &[u8; 24] = bytes
            .try_into()
            .map_err(|_| ArtifactError::MalformedRecord)?;
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&bytes[..16]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[16..]);
        Ok(ArtifactChecksum {
            hash: u128::from_le_bytes(hash),
            len: u64::from_le_bytes(len),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_accepts_its_own_bytes() {
        let checksum = ArtifactChecksum::of(b"compiled code");
        assert_eq!(checksum.verify(b"compiled code"), Ok(()));
        let restored = ArtifactChecksum::from_bytes(&checksum.to_bytes()).expect("round trip");
        assert_eq!(restored, checksum);
    }

    #[test]
    fn checksum_refuses_a_flipped_bit_and_a_truncation() {
        let checksum = ArtifactChecksum::of(b"compiled code");
        assert_eq!(
            checksum.verify(b"compiled codf"),
            Err(ArtifactError::ChecksumMismatch)
        );
        assert_eq!(
            checksum.verify(b"compiled"),
            Err(ArtifactError::WrongLength {
                expected: 13,
                actual: 8
            })
        );
        assert_eq!(
            ArtifactChecksum::from_bytes(&[0; 7]),
            Err(ArtifactError::MalformedRecord)
        );
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
    fn artifact_keys_read_back_from_their_text() {
        let key = ArtifactKey::new(
            ModuleDigest::of(b"m"),
            EngineFingerprint::of(&wasmtime::Engine::default()),
        );
        assert_eq!(ArtifactKey::parse(&key.to_key_string()), Some(key.clone()));
        assert!(key.file_name().ends_with(".cwasm"));
        assert!(!key.file_name().contains('/'));
        assert_eq!(ArtifactKey::parse("sha256:00@nothex"), None);
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
