//! Precompiled artifacts as files in `<data-dir>/artifacts/`, so that a
//! restart memory-maps them instead of compiling or copying.
//!
//! Files are named by [`ArtifactKey::file_name`] (module digest and engine
//! fingerprint), written to a temporary name, synced and renamed into place:
//! a reader never sees a half-written file. Their checksums live in the
//! store; a file without a record there is garbage from an interrupted deploy
//! and is deleted at start.

use crate::error::RuntimeError;
use crate::store::data_dir::DataDir;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use faasrt_snapshots::ArtifactKey;
use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the artifacts directory inside the data directory.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// The artifact files of one data directory.
pub(crate) struct ArtifactFiles {
    dir: Dir,
    path: std::path::PathBuf,
}

impl ArtifactFiles {
    /// Opens (creating it if needed) the artifacts directory of `data_dir`.
    pub(crate) fn open(data_dir: &DataDir) -> Result<Self, RuntimeError> {
        let dir = data_dir.open_subdir(ARTIFACTS_DIR)?;
        Ok(ArtifactFiles {
            dir,
            path: data_dir.path().join(ARTIFACTS_DIR),
        })
    }

    /// Writes `bytes` as the artifact of `key`, durably. Concurrent writes
    /// of one key (the same module deployed under two names at once) each
    /// use a temporary file of their own; the last rename wins, with the
    /// same bytes (compilation is deterministic).
    pub(crate) fn write(&self, key: &ArtifactKey, bytes: &[u8]) -> Result<(), RuntimeError> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let name = key.file_name();
        let temporary = format!(".{name}.{}.tmp", WRITES.fetch_add(1, Ordering::Relaxed));
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true).mode(0o600);
        let written = self
            .dir
            .open_with(&temporary, &options)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            });
        written
            .and_then(|()| self.dir.rename(&temporary, &self.dir, &name))
            .map_err(|e| self.error(format!("cannot write {name}: {e}")))?;
        // The rename is durable only once the directory itself is synced.
        self.dir
            .open(".")
            .and_then(|dir| dir.sync_all())
            .map_err(|e| self.error(format!("cannot sync the directory: {e}")))
    }

    /// Opens the artifact of `key`, or `None` if there is no such file.
    pub(crate) fn open_file(
        &self,
        key: &ArtifactKey,
    ) -> Result<Option<std::fs::File>, RuntimeError> {
        match self.dir.open(key.file_name()) {
            Ok(file) => Ok(Some(file.into_std())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(format!("cannot open {}: {e}", key.file_name()))),
        }
    }

    /// Deletes the artifact of `key`, if it exists.
    pub(crate) fn remove(&self, key: &ArtifactKey) {
        if let Err(e) = self.dir.remove_file(key.file_name())
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %key.file_name(), error = %e, "cannot delete an unused artifact");
        }
    }

    /// Deletes every file whose name is not in `keep` (temporary files of
    /// interrupted writes, artifacts of removed functions or other engines).
    pub(crate) fn retain(&self, keep: &HashSet<String>) -> Result<usize, RuntimeError> {
        let entries = self
            .dir
            .entries()
            .map_err(|e| self.error(format!("cannot list: {e}")))?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| self.error(format!("cannot list: {e}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) && self.dir.remove_file(&name).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn error(&self, reason: String) -> RuntimeError {
        RuntimeError::DataDir {
            path: self.path.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasrt_snapshots::{EngineFingerprint, ModuleDigest};

    #[test]
    fn concurrent_writes_of_one_artifact_all_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = DataDir::open(dir.path()).expect("data dir");
        let files = std::sync::Arc::new(ArtifactFiles::open(&data_dir).expect("artifacts"));
        let key = ArtifactKey::new(
            ModuleDigest::of(b"module"),
            EngineFingerprint::of(&wasmtime::Engine::default()),
        );
        let bytes = vec![7u8; 1 << 20];
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (files, key, bytes) = (files.clone(), key.clone(), bytes.clone());
                std::thread::spawn(move || files.write(&key, &bytes))
            })
            .collect();
        for writer in writers {
            writer
                .join()
                .expect("writer")
                .expect("every write succeeds");
        }
        let mut file = files
            .open_file(&key)
            .expect("open")
            .expect("the file is there");
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut read).expect("read");
        assert_eq!(read, bytes);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join(ARTIFACTS_DIR))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(key.file_name())]);
    }
}
