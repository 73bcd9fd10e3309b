//! Content digests of module bytes.

use sha2::{Digest, Sha256};
use std::fmt;

/// The SHA-256 digest of a module's bytes, shown as `sha256:<hex>`.
///
/// Two deployments of the same bytes share one digest, so the store keeps
/// their bytes and artifacts once.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ModuleDigest(String);

impl ModuleDigest {
    /// Computes the digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ModuleDigest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Wraps a digest string read back from the store.
    ///
    /// Returns `None` when `text` is not of the form `sha256:<64 hex digits>`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex_part = text.strip_prefix("sha256:")?;
        let well_formed = hex_part.len() == 64
            && hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| ModuleDigest(text.to_owned()))
    }

    /// The digest as text, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_known_bytes_matches_sha256() {
        // sha256("abc"), from FIPS 180-2.
        assert_eq!(
            ModuleDigest::of(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_accepts_own_output_and_rejects_garbage() {
        let digest = ModuleDigest::of(b"module");
        assert_eq!(ModuleDigest::parse(digest.as_str()), Some(digest));
        assert_eq!(ModuleDigest::parse("sha256:xyz"), None);
        assert_eq!(ModuleDigest::parse("md5:00"), None);
    }
}
