//! The embedded store (redb): function records, module bytes and sealed
//! precompiled artifacts, each write acknowledged only after its commit.
//!
//! Tables:
//! - `functions`: name → JSON [`FunctionInfo`]
//! - `modules`: digest → module bytes (shared by functions with equal bytes)
//! - `artifacts`: `<digest>@<engine fingerprint>` → sealed artifact
//!
//! A deploy writes all three in one transaction, so a failed deploy leaves
//! nothing behind; bytes and artifacts that no function references any more
//! are deleted in the same transaction that dropped the last reference.

use crate::data_dir::DataDir;
use crate::error::RuntimeError;
use crate::function::FunctionInfo;
use faasrt_snapshots::{ArtifactKey, ModuleDigest};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

const FUNCTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("functions");
const MODULES: TableDefinition<&str, &[u8]> = TableDefinition::new("modules");
const ARTIFACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("artifacts");

/// The store of one runtime.
pub(crate) struct FunctionStore {
    db: Database,
}

/// What a deploy writes.
pub(crate) struct DeployWrite<'a> {
    pub info: &'a FunctionInfo,
    pub module: &'a [u8],
    pub artifact_key: &'a ArtifactKey,
    pub sealed_artifact: &'a [u8],
}

impl FunctionStore {
    /// Opens the store file in `data_dir`.
    pub(crate) fn open(data_dir: &DataDir) -> Result<Self, RuntimeError> {
        let file = data_dir.open_store_file()?;
        let db = redb::Builder::new()
            .create_file(file)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => RuntimeError::DataDir {
                    path: data_dir.path().to_owned(),
                    reason: "the store is in use by another faasrt process".into(),
                },
                other => other.into(),
            })?;
        Self::with_database(db)
    }

    /// A store that lives in memory only.
    pub(crate) fn in_memory() -> Result<Self, RuntimeError> {
        let db = redb::Builder::new().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::with_database(db)
    }

    fn with_database(db: Database) -> Result<Self, RuntimeError> {
        // Create the tables up front so readers never see them missing.
        let txn = db.begin_write()?;
        txn.open_table(FUNCTIONS)?;
        txn.open_table(MODULES)?;
        txn.open_table(ARTIFACTS)?;
        txn.commit()?;
        Ok(FunctionStore { db })
    }

    /// Every function record, in name order.
    pub(crate) fn functions(&self) -> Result<Vec<FunctionInfo>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(FUNCTIONS)?;
        let mut records = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            records.push(decode_record(value.value())?);
        }
        Ok(records)
    }

    /// The module bytes of `digest`.
    pub(crate) fn module(&self, digest: &ModuleDigest) -> Result<Option<Vec<u8>>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(MODULES)?;
        Ok(table
            .get(digest.as_str())?
            .map(|bytes| bytes.value().to_vec()))
    }

    /// The sealed artifact stored under `key`.
    pub(crate) fn artifact(&self, key: &ArtifactKey) -> Result<Option<Vec<u8>>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ARTIFACTS)?;
        Ok(table
            .get(key.to_key_string().as_str())?
            .map(|bytes| bytes.value().to_vec()))
    }

    /// Stores (or replaces) a sealed artifact, for a module that is stored.
    pub(crate) fn put_artifact(
        &self,
        key: &ArtifactKey,
        sealed: &[u8],
    ) -> Result<(), RuntimeError> {
        let txn = self.db.begin_write()?;
        {
            let modules = txn.open_table(MODULES)?;
            if modules.get(key.digest().as_str())?.is_none() {
                // The function was removed meanwhile; keep nothing orphaned.
                return Ok(());
            }
            let mut table = txn.open_table(ARTIFACTS)?;
            table.insert(key.to_key_string().as_str(), sealed)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Writes a deploy in one transaction and returns the record it replaced.
    pub(crate) fn deploy(
        &self,
        write: DeployWrite<'_>,
    ) -> Result<Option<FunctionInfo>, RuntimeError> {
        let txn = self.db.begin_write()?;
        let previous = {
            let mut functions = txn.open_table(FUNCTIONS)?;
            let mut modules = txn.open_table(MODULES)?;
            let mut artifacts = txn.open_table(ARTIFACTS)?;
            if modules.get(write.info.digest.as_str())?.is_none() {
                modules.insert(write.info.digest.as_str(), write.module)?;
            }
            artifacts.insert(
                write.artifact_key.to_key_string().as_str(),
                write.sealed_artifact,
            )?;
            let record = serde_json::to_vec(write.info).expect("a record always serializes");
            functions
                .insert(write.info.name.as_str(), record.as_slice())?
                .map(|old| decode_record(old.value()))
                .transpose()?
        };
        if let Some(old) = &previous
            && old.digest != write.info.digest
        {
            collect_if_unreferenced(&txn, &old.digest)?;
        }
        txn.commit()?;
        Ok(previous)
    }

    /// Deletes a function's record; returns it, or `None` if there was none.
    pub(crate) fn remove(&self, name: &str) -> Result<Option<FunctionInfo>, RuntimeError> {
        let txn = self.db.begin_write()?;
        let removed = {
            let mut functions = txn.open_table(FUNCTIONS)?;
            functions
                .remove(name)?
                .map(|old| decode_record(old.value()))
                .transpose()?
        };
        if let Some(old) = &removed {
            collect_if_unreferenced(&txn, &old.digest)?;
        }
        txn.commit()?;
        Ok(removed)
    }
}

/// Deletes the bytes and artifacts of `digest` if no function uses it.
fn collect_if_unreferenced(txn: &WriteTransaction, digest: &str) -> Result<(), RuntimeError> {
    let functions = txn.open_table(FUNCTIONS)?;
    for entry in functions.iter()? {
        let (_, value) = entry?;
        if decode_record(value.value())?.digest == digest {
            return Ok(());
        }
    }
    let mut modules = txn.open_table(MODULES)?;
    modules.remove(digest)?;
    let mut artifacts = txn.open_table(ARTIFACTS)?;
    let prefix = match ModuleDigest::parse(digest) {
        Some(parsed) => ArtifactKey::prefix_of(&parsed),
        None => return Err(RuntimeError::Corrupt(format!("bad digest {digest:?}"))),
    };
    let stale: Vec<String> = artifacts
        .range(prefix.as_str()..)?
        .map(|entry| entry.map(|(key, _)| key.value().to_owned()))
        .take_while(|key| key.as_ref().map_or(true, |k| k.starts_with(&prefix)))
        .collect::<Result<_, _>>()?;
    for key in stale {
        artifacts.remove(key.as_str())?;
    }
    Ok(())
}

fn decode_record(bytes: &[u8]) -> Result<FunctionInfo, RuntimeError> {
    serde_json::from_slice(bytes)
        .map_err(|e| RuntimeError::Corrupt(format!("function record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::FunctionLimits;
    use faasrt_snapshots::EngineFingerprint;

    fn info(name: &str, module: &[u8]) -> FunctionInfo {
        FunctionInfo {
            name: name.into(),
            digest: ModuleDigest::of(module).to_string(),
            size: module.len() as u64,
            args: vec![],
            limits: FunctionLimits::default(),
            deployed_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn deploy(store: &FunctionStore, name: &str, module: &[u8]) -> ArtifactKey {
        let record = info(name, module);
        let key = ArtifactKey::new(
            ModuleDigest::of(module),
            EngineFingerprint::of(&wasmtime::Engine::default()),
        );
        store
            .deploy(DeployWrite {
                info: &record,
                module,
                artifact_key: &key,
                sealed_artifact: b"artifact",
            })
            .expect("deploy");
        key
    }

    #[test]
    fn a_deployed_function_can_be_read_back() {
        let store = FunctionStore::in_memory().expect("store");
        let key = deploy(&store, "f", b"module-1");
        assert_eq!(
            store.functions().expect("list"),
            vec![info("f", b"module-1")]
        );
        assert_eq!(
            store.module(&ModuleDigest::of(b"module-1")).expect("read"),
            Some(b"module-1".to_vec())
        );
        assert_eq!(
            store.artifact(&key).expect("read"),
            Some(b"artifact".to_vec())
        );
    }

    #[test]
    fn redeploy_drops_the_old_bytes_and_artifacts() {
        let store = FunctionStore::in_memory().expect("store");
        let old_key = deploy(&store, "f", b"module-1");
        deploy(&store, "f", b"module-2");
        assert_eq!(
            store.module(&ModuleDigest::of(b"module-1")).expect("read"),
            None
        );
        assert_eq!(store.artifact(&old_key).expect("read"), None);
    }

    #[test]
    fn shared_bytes_survive_until_their_last_function_goes() {
        let store = FunctionStore::in_memory().expect("store");
        let key = deploy(&store, "a", b"same");
        deploy(&store, "b", b"same");
        store.remove("a").expect("remove a");
        assert!(store.artifact(&key).expect("read").is_some());
        store.remove("b").expect("remove b");
        assert_eq!(store.artifact(&key).expect("read"), None);
        assert_eq!(
            store.module(&ModuleDigest::of(b"same")).expect("read"),
            None
        );
    }

    #[test]
    fn removing_an_unknown_function_returns_none() {
        let store = FunctionStore::in_memory().expect("store");
        assert_eq!(store.remove("nope").expect("remove"), None);
    }

    #[test]
    fn records_survive_reopening_the_file() {
        let temp = tempfile::tempdir().expect("tempdir");
        {
            let store =
                FunctionStore::open(&DataDir::open(temp.path()).expect("dir")).expect("open");
            deploy(&store, "kept", b"bytes");
        }
        let store = FunctionStore::open(&DataDir::open(temp.path()).expect("dir")).expect("reopen");
        assert_eq!(
            store.functions().expect("list"),
            vec![info("kept", b"bytes")]
        );
    }

    #[test]
    fn a_second_open_of_one_store_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::open(temp.path()).expect("dir");
        let _first = FunctionStore::open(&dir).expect("open");
        assert!(matches!(
            FunctionStore::open(&dir),
            Err(RuntimeError::DataDir { .. })
        ));
    }
}
