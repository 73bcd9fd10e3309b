//! Function names: the one format that names, routes and store keys share.

use crate::error::RuntimeError;
use std::fmt;

/// The longest name allowed, in bytes.
pub const MAX_NAME_LEN: usize = 63;

/// A validated function name: `[a-z0-9][a-z0-9_-]{0,62}`.
///
/// The format keeps names safe in URLs, file names, metric labels and shell
/// commands without any escaping.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct FunctionName(String);

impl FunctionName {
    /// Validates `name`.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`] saying what is wrong with it.
    pub fn parse(name: &str) -> Result<Self, RuntimeError> {
        let invalid = |reason: &str| RuntimeError::InvalidName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let first = name.bytes().next().ok_or_else(|| invalid("it is empty"))?;
        if name.len() > MAX_NAME_LEN {
            return Err(invalid("it is longer than 63 bytes"));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(invalid("it must start with a lowercase letter or a digit"));
        }
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if !name.bytes().all(allowed) {
            return Err(invalid(
                "only lowercase letters, digits, '-' and '_' are allowed",
            ));
        }
        Ok(FunctionName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_accepted() {
        for name in ["hello", "a", "0", "grep-native", "wc_2", &"x".repeat(63)] {
            assert!(FunctionName::parse(name).is_ok(), "{name} should be valid");
        }
    }

    #[test]
    fn invalid_names_are_refused() {
        for name in [
            "",
            "Hello",
            "-x",
            "_x",
            "a/b",
            "a.b",
            "a b",
            "é",
            "../etc",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(
                    FunctionName::parse(name),
                    Err(RuntimeError::InvalidName { .. })
                ),
                "{name:?} should be invalid"
            );
        }
    }
}
