//! The data directory: the store file and the token beside it.
//!
//! Every file in it is opened through a cap-std [`Dir`], never by joining a
//! string to a path, so no bug in name handling can reach outside it.

use crate::error::RuntimeError;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt, PermissionsExt};
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// File name of the embedded store inside the data directory.
pub const STORE_FILE: &str = "faasrt.redb";
/// File name of the API token inside the data directory.
pub const TOKEN_FILE: &str = "token";

/// An open data directory.
pub struct DataDir {
    dir: Dir,
    path: PathBuf,
}

impl DataDir {
    /// Opens `path`, creating it (mode 0700) if it does not exist.
    ///
    /// # Errors
    /// [`RuntimeError::DataDir`] when it cannot be created or opened.
    pub fn open(path: &Path) -> Result<Self, RuntimeError> {
        let fail = |reason: String| RuntimeError::DataDir {
            path: path.to_owned(),
            reason,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| fail(format!("cannot create it: {e}")))?;
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .map_err(|e| fail(format!("cannot open it: {e}")))?;
        Ok(DataDir {
            dir,
            path: path.to_owned(),
        })
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the subdirectory `name`, creating it (mode 0700) if needed.
    pub(crate) fn open_subdir(&self, name: &str) -> Result<Dir, RuntimeError> {
        match self.dir.create_dir(name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(self.error(format!("cannot create {name}/: {e}"))),
        }
        self.dir
            .open_dir(name)
            .map_err(|e| self.error(format!("cannot open {name}/: {e}")))
    }

    /// Opens (or creates) the store file for reading and writing.
    pub(crate) fn open_store_file(&self) -> Result<std::fs::File, RuntimeError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).mode(0o600);
        self.dir
            .open_with(STORE_FILE, &options)
            .map(|file| file.into_std())
            .map_err(|e| self.error(format!("cannot open {STORE_FILE}: {e}")))
    }

    /// Opens (or creates, mode 0600) another private file of the directory,
    /// `name` a plain file name: a component's own database beside the
    /// store (the streams' `streams.redb`).
    ///
    /// # Errors
    /// [`RuntimeError::DataDir`] when it cannot be opened or `name` is not a
    /// plain file name.
    pub fn open_private_file(&self, name: &str) -> Result<std::fs::File, RuntimeError> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(self.error(format!("{name:?} is not a plain file name")));
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).mode(0o600);
        self.dir
            .open_with(name, &options)
            .map(|file| file.into_std())
            .map_err(|e| self.error(format!("cannot open {name}: {e}")))
    }

    /// Reads the API token, creating a new random one (mode 0600) on first use.
    ///
    /// # Errors
    /// [`RuntimeError::DataDir`] when the token cannot be read or written, or
    /// when the existing token file is readable by others than its owner.
    pub fn token(&self) -> Result<String, RuntimeError> {
        if let Some(token) = self.read_token()? {
            return Ok(token);
        }
        let token = random_token().map_err(|e| self.error(format!("cannot make a token: {e}")))?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).mode(0o600);
        match self.dir.open_with(TOKEN_FILE, &options) {
            Ok(mut file) => {
                file.write_all(format!("{token}\n").as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| self.error(format!("cannot write {TOKEN_FILE}: {e}")))?;
                Ok(token)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .read_token()?
                .ok_or_else(|| self.error(format!("{TOKEN_FILE} is empty"))),
            Err(e) => Err(self.error(format!("cannot create {TOKEN_FILE}: {e}"))),
        }
    }

    /// Reads the token file if it exists.
    pub fn read_token(&self) -> Result<Option<String>, RuntimeError> {
        let mut file = match self.dir.open(TOKEN_FILE) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(format!("cannot open {TOKEN_FILE}: {e}"))),
        };
        let mode = file
            .metadata()
            .map_err(|e| self.error(format!("cannot stat {TOKEN_FILE}: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(self.error(format!(
                "{TOKEN_FILE} has mode {:o}; it must be readable by its owner only (chmod 600)",
                mode & 0o777
            )));
        }
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| self.error(format!("cannot read {TOKEN_FILE}: {e}")))?;
        let token = text.trim();
        Ok((!token.is_empty()).then(|| token.to_owned()))
    }

    fn error(&self, reason: String) -> RuntimeError {
        RuntimeError::DataDir {
            path: self.path.clone(),
            reason,
        }
    }
}

/// 256 random bits from the kernel, as hex.
fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn token_is_created_once_with_mode_0600() {
        let temp = tempfile::tempdir().expect("tempdir");
        let data_dir = DataDir::open(temp.path()).expect("open");
        let token = data_dir.token().expect("token");
        assert_eq!(token.len(), 64);
        assert_eq!(data_dir.token().expect("token again"), token);
        let mode = std::fs::metadata(temp.path().join(TOKEN_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_token_readable_by_others_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join(TOKEN_FILE);
        std::fs::write(&path, "secret\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let data_dir = DataDir::open(temp.path()).expect("open");
        assert!(matches!(
            data_dir.token(),
            Err(RuntimeError::DataDir { .. })
        ));
    }
}
