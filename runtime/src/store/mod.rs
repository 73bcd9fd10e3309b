//! The embedded store (redb): function records, module bytes and sealed
//! precompiled artifacts, each write acknowledged only after its commit.
//!
//! Tables:
//! - `functions`: name → JSON [`FunctionInfo`]
//! - `modules`: digest → module bytes (shared by functions with equal bytes)
//! - `artifacts`: `<digest>@<engine fingerprint>` → the checksum of the
//!   artifact file (`wasm/artifacts.rs` keeps the files themselves)
//! - `kv`, `kv_usage`: functions' key-value state (`kv.rs`)
//!
//! A deploy writes its rows in one transaction, so a failed deploy leaves
//! nothing behind; bytes and artifact records that no function references
//! any more are deleted in the same transaction that dropped the last
//! reference, and their keys are returned so the caller deletes the files.
//!
//! Here: the tables (this file) and the data directory they live in, with
//! its token file (`data_dir`). What must not live here: compiling or
//! loading code (`wasm/artifact_cache.rs` decides what to keep), and any
//! knowledge of who asked for a write.

pub(crate) mod data_dir;
pub(crate) mod kv;

use crate::error::RuntimeError;
use crate::function::FunctionInfo;
use crate::pipeline::PipelineInfo;
use crate::store::data_dir::DataDir;
use faasrt_snapshots::{ArtifactChecksum, ArtifactKey, EngineFingerprint, ModuleDigest};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

const FUNCTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("functions");
const MODULES: TableDefinition<&str, &[u8]> = TableDefinition::new("modules");
const ARTIFACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("artifacts");
const PIPELINES: TableDefinition<&str, &[u8]> = TableDefinition::new("pipelines");

/// The store of one runtime.
pub(crate) struct FunctionStore {
    db: Database,
}

/// What a deploy writes.
pub(crate) struct DeployWrite<'a> {
    pub info: &'a FunctionInfo,
    /// The deployed module's bytes (under `info.digest`).
    pub module: &'a [u8],
    /// The pre-initialized module's bytes (under `info.snapshot_digest`).
    pub snapshot: Option<&'a [u8]>,
    /// The record of the artifact file already written, if artifacts are
    /// kept (not for an in-memory runtime).
    pub artifact: Option<(&'a ArtifactKey, ArtifactChecksum)>,
}

/// What a deploy or remove replaced, and the artifacts it made unused.
pub(crate) struct Replaced {
    pub previous: Option<FunctionInfo>,
    pub unused_artifacts: Vec<ArtifactKey>,
}

/// The most memory redb keeps of the store file's pages (its default is
/// 1 GiB, which a server would fill with the module and snapshot bytes of
/// every deploy, read once): enough for the records and the key-value
/// state functions read often.
const STORE_CACHE_BYTES: usize = 32 << 20;

impl FunctionStore {
    /// Opens the store file in `data_dir`.
    pub(crate) fn open(data_dir: &DataDir) -> Result<Self, RuntimeError> {
        let file = data_dir.open_store_file()?;
        let db = redb::Builder::new()
            .set_cache_size(STORE_CACHE_BYTES)
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
        txn.open_table(PIPELINES)?;
        kv::create_tables(&txn)?;
        txn.commit()?;
        Ok(FunctionStore { db })
    }

    /// Stores (or replaces) the named pipeline `info`.
    pub(crate) fn put_pipeline(&self, info: &PipelineInfo) -> Result<(), RuntimeError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(PIPELINES)?;
            let record = serde_json::to_vec(info).expect("a pipeline always serializes");
            table.insert(info.name.as_str(), record.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The named pipeline `name`.
    pub(crate) fn pipeline(&self, name: &str) -> Result<Option<PipelineInfo>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PIPELINES)?;
        table
            .get(name)?
            .map(|value| decode_pipeline(value.value()))
            .transpose()
    }

    /// Every named pipeline, in name order.
    pub(crate) fn pipelines(&self) -> Result<Vec<PipelineInfo>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PIPELINES)?;
        let mut pipelines = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            pipelines.push(decode_pipeline(value.value())?);
        }
        Ok(pipelines)
    }

    /// Deletes the named pipeline `name`; returns it, if it existed.
    pub(crate) fn remove_pipeline(&self, name: &str) -> Result<Option<PipelineInfo>, RuntimeError> {
        let txn = self.db.begin_write()?;
        let removed = {
            let mut table = txn.open_table(PIPELINES)?;
            table
                .remove(name)?
                .map(|value| decode_pipeline(value.value()))
                .transpose()?
        };
        txn.commit()?;
        Ok(removed)
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

    /// The recorded checksum of the artifact under `key`.
    pub(crate) fn artifact_checksum(
        &self,
        key: &ArtifactKey,
    ) -> Result<Option<ArtifactChecksum>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ARTIFACTS)?;
        let Some(bytes) = table.get(key.to_key_string().as_str())? else {
            return Ok(None);
        };
        ArtifactChecksum::from_bytes(bytes.value())
            .map(Some)
            .map_err(|e| RuntimeError::Corrupt(e.to_string()))
    }

    /// Every artifact key on record.
    pub(crate) fn artifact_keys(&self) -> Result<Vec<ArtifactKey>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ARTIFACTS)?;
        let mut keys = Vec::new();
        for entry in table.iter()? {
            let (key, _) = entry?;
            let key = ArtifactKey::parse(key.value())
                .ok_or_else(|| RuntimeError::Corrupt(format!("artifact key {:?}", key.value())))?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Deletes the records of artifacts compiled by any engine but those
    /// of `keep` (they will not be loaded again), and returns their keys so
    /// the caller deletes the files.
    pub(crate) fn forget_other_engines(
        &self,
        keep: &[EngineFingerprint],
    ) -> Result<Vec<ArtifactKey>, RuntimeError> {
        let stale: Vec<ArtifactKey> = self
            .artifact_keys()?
            .into_iter()
            .filter(|key| !keep.contains(key.fingerprint()))
            .collect();
        if stale.is_empty() {
            return Ok(stale);
        }
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(ARTIFACTS)?;
            for key in &stale {
                table.remove(key.to_key_string().as_str())?;
            }
        }
        txn.commit()?;
        Ok(stale)
    }

    /// Records (or replaces) the checksum of an artifact file, for a module
    /// that is stored. Returns whether it was recorded.
    pub(crate) fn put_artifact(
        &self,
        key: &ArtifactKey,
        checksum: ArtifactChecksum,
    ) -> Result<bool, RuntimeError> {
        let txn = self.db.begin_write()?;
        {
            let modules = txn.open_table(MODULES)?;
            if modules.get(key.digest().as_str())?.is_none() {
                // The function was removed meanwhile; keep nothing orphaned.
                return Ok(false);
            }
            let mut table = txn.open_table(ARTIFACTS)?;
            table.insert(key.to_key_string().as_str(), checksum.to_bytes().as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Writes a deploy in one transaction.
    pub(crate) fn deploy(&self, write: DeployWrite<'_>) -> Result<Replaced, RuntimeError> {
        let txn = self.db.begin_write()?;
        let previous = {
            let mut functions = txn.open_table(FUNCTIONS)?;
            let mut modules = txn.open_table(MODULES)?;
            let mut artifacts = txn.open_table(ARTIFACTS)?;
            if modules.get(write.info.digest.as_str())?.is_none() {
                modules.insert(write.info.digest.as_str(), write.module)?;
            }
            if let (Some(digest), Some(snapshot)) = (&write.info.snapshot_digest, write.snapshot)
                && modules.get(digest.as_str())?.is_none()
            {
                modules.insert(digest.as_str(), snapshot)?;
            }
            if let Some((key, checksum)) = write.artifact {
                artifacts.insert(key.to_key_string().as_str(), checksum.to_bytes().as_slice())?;
            }
            let record = serde_json::to_vec(write.info).expect("a record always serializes");
            functions
                .insert(write.info.name.as_str(), record.as_slice())?
                .map(|old| decode_record(old.value()))
                .transpose()?
        };
        let mut unused_artifacts = Vec::new();
        if let Some(old) = &previous {
            for digest in digests_of(old) {
                unused_artifacts.extend(collect_if_unreferenced(&txn, digest)?);
            }
        }
        txn.commit()?;
        Ok(Replaced {
            previous,
            unused_artifacts,
        })
    }

    /// Deletes a function's record and its key-value state.
    pub(crate) fn remove(&self, name: &str) -> Result<Replaced, RuntimeError> {
        let txn = self.db.begin_write()?;
        let removed = {
            let mut functions = txn.open_table(FUNCTIONS)?;
            functions
                .remove(name)?
                .map(|old| decode_record(old.value()))
                .transpose()?
        };
        let mut unused_artifacts = Vec::new();
        if let Some(old) = &removed {
            for digest in digests_of(old) {
                unused_artifacts.extend(collect_if_unreferenced(&txn, digest)?);
            }
            kv::delete_all(&txn, name)?;
        }
        txn.commit()?;
        Ok(Replaced {
            previous: removed,
            unused_artifacts,
        })
    }
}

/// The module digests a function record references.
fn digests_of(info: &FunctionInfo) -> impl Iterator<Item = &str> {
    std::iter::once(info.digest.as_str()).chain(info.snapshot_digest.as_deref())
}

/// Deletes the bytes and artifact records of `digest` if no function uses
/// it, and returns the keys of the artifacts it deleted.
fn collect_if_unreferenced(
    txn: &WriteTransaction,
    digest: &str,
) -> Result<Vec<ArtifactKey>, RuntimeError> {
    let functions = txn.open_table(FUNCTIONS)?;
    for entry in functions.iter()? {
        let (_, value) = entry?;
        if digests_of(&decode_record(value.value())?).any(|d| d == digest) {
            return Ok(Vec::new());
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
    for key in &stale {
        artifacts.remove(key.as_str())?;
    }
    Ok(stale
        .iter()
        .filter_map(|key| ArtifactKey::parse(key))
        .collect())
}

fn decode_pipeline(bytes: &[u8]) -> Result<PipelineInfo, RuntimeError> {
    serde_json::from_slice(bytes)
        .map_err(|e| RuntimeError::Corrupt(format!("pipeline record: {e}")))
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

    pub(super) fn info(name: &str, module: &[u8]) -> FunctionInfo {
        FunctionInfo {
            name: name.into(),
            digest: ModuleDigest::of(module).to_string(),
            size: module.len() as u64,
            args: vec![],
            limits: FunctionLimits::default(),
            deployed_at: "2026-01-01T00:00:00Z".into(),
            kind: crate::function::FunctionKind::Wasm,
            entry: crate::function::EntryKind::Command,
            preinitialized: false,
            preinit_us: None,
            snapshot_digest: None,
            bounds_checks: None,
        }
    }

    fn key_of(module: &[u8]) -> ArtifactKey {
        ArtifactKey::new(
            ModuleDigest::of(module),
            EngineFingerprint::of(&wasmtime::Engine::default()),
        )
    }

    fn deploy(store: &FunctionStore, name: &str, module: &[u8]) -> Replaced {
        let record = info(name, module);
        let key = key_of(module);
        store
            .deploy(DeployWrite {
                info: &record,
                module,
                snapshot: None,
                artifact: Some((&key, ArtifactChecksum::of(b"artifact"))),
            })
            .expect("deploy")
    }

    #[test]
    fn a_deployed_function_can_be_read_back() {
        let store = FunctionStore::in_memory().expect("store");
        deploy(&store, "f", b"module-1");
        assert_eq!(
            store.functions().expect("list"),
            vec![info("f", b"module-1")]
        );
        assert_eq!(
            store.module(&ModuleDigest::of(b"module-1")).expect("read"),
            Some(b"module-1".to_vec())
        );
        assert_eq!(
            store.artifact_checksum(&key_of(b"module-1")).expect("read"),
            Some(ArtifactChecksum::of(b"artifact"))
        );
        assert_eq!(
            store.artifact_keys().expect("keys"),
            vec![key_of(b"module-1")]
        );
    }

    #[test]
    fn redeploy_drops_the_old_bytes_and_reports_their_artifacts() {
        let store = FunctionStore::in_memory().expect("store");
        deploy(&store, "f", b"module-1");
        let replaced = deploy(&store, "f", b"module-2");
        assert_eq!(replaced.previous, Some(info("f", b"module-1")));
        assert_eq!(replaced.unused_artifacts, vec![key_of(b"module-1")]);
        assert_eq!(
            store.module(&ModuleDigest::of(b"module-1")).expect("read"),
            None
        );
        assert_eq!(
            store.artifact_checksum(&key_of(b"module-1")).expect("read"),
            None
        );
    }

    #[test]
    fn shared_bytes_survive_until_their_last_function_goes() {
        let store = FunctionStore::in_memory().expect("store");
        deploy(&store, "a", b"same");
        deploy(&store, "b", b"same");
        assert!(
            store
                .remove("a")
                .expect("remove a")
                .unused_artifacts
                .is_empty()
        );
        assert!(
            store
                .artifact_checksum(&key_of(b"same"))
                .expect("read")
                .is_some()
        );
        let removed = store.remove("b").expect("remove b");
        assert_eq!(removed.unused_artifacts, vec![key_of(b"same")]);
        assert_eq!(
            store.module(&ModuleDigest::of(b"same")).expect("read"),
            None
        );
    }

    #[test]
    fn a_snapshot_is_kept_while_its_function_is() {
        let store = FunctionStore::in_memory().expect("store");
        let mut record = info("f", b"original");
        record.snapshot_digest = Some(ModuleDigest::of(b"snapshot").to_string());
        record.preinitialized = true;
        let key = key_of(b"snapshot");
        store
            .deploy(DeployWrite {
                info: &record,
                module: b"original",
                snapshot: Some(b"snapshot"),
                artifact: Some((&key, ArtifactChecksum::of(b"artifact"))),
            })
            .expect("deploy");
        assert_eq!(
            store.module(&ModuleDigest::of(b"snapshot")).expect("read"),
            Some(b"snapshot".to_vec())
        );
        let removed = store.remove("f").expect("remove");
        assert_eq!(removed.unused_artifacts, vec![key]);
        assert_eq!(
            store.module(&ModuleDigest::of(b"snapshot")).expect("read"),
            None
        );
        assert_eq!(
            store.module(&ModuleDigest::of(b"original")).expect("read"),
            None
        );
    }

    #[test]
    fn artifacts_of_other_engines_are_forgotten() {
        let store = FunctionStore::in_memory().expect("store");
        deploy(&store, "f", b"module");
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = EngineFingerprint::of(&wasmtime::Engine::new(&config).expect("engine"));
        let forgotten = store
            .forget_other_engines(std::slice::from_ref(&other))
            .expect("forget");
        assert_eq!(forgotten, vec![key_of(b"module")]);
        assert!(store.artifact_keys().expect("keys").is_empty());
        // The module bytes stay: the function recompiles from them.
        assert!(
            store
                .module(&ModuleDigest::of(b"module"))
                .expect("read")
                .is_some()
        );
    }

    #[test]
    fn removing_an_unknown_function_returns_none() {
        let store = FunctionStore::in_memory().expect("store");
        assert_eq!(store.remove("nope").expect("remove").previous, None);
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
