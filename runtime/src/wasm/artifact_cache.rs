//! Where compiled code comes from: the artifact file of a function when it
//! is valid for this engine, else a fresh compile whose artifact is saved.

use crate::error::RuntimeError;
use crate::metrics::{CompileReason, Metrics};
use crate::store::FunctionStore;
use crate::wasm::PreparedModule;
use crate::wasm::artifacts::ArtifactFiles;
use crate::wasm::engine::FunctionEngine;
use faasrt_snapshots::{ArtifactChecksum, ArtifactKey, EngineFingerprint, ModuleDigest};
use std::collections::HashSet;
use std::io::Read;

/// Loads and saves precompiled artifacts; without a data directory it
/// keeps none (nothing is ever reloaded then).
pub(crate) struct ArtifactCache {
    files: Option<ArtifactFiles>,
}

impl ArtifactCache {
    pub(crate) fn new(files: Option<ArtifactFiles>) -> Self {
        ArtifactCache { files }
    }

    /// Serializes `prepared` into the artifact file of `key` and returns the
    /// checksum to record, or `None` when artifacts are not kept.
    pub(crate) fn save(
        &self,
        engine: &FunctionEngine,
        key: &ArtifactKey,
        prepared: &PreparedModule,
    ) -> Result<Option<ArtifactChecksum>, RuntimeError> {
        let Some(files) = &self.files else {
            return Ok(None);
        };
        let artifact = engine.serialize(prepared)?;
        files.write(key, &artifact)?;
        Ok(Some(ArtifactChecksum::of(&artifact)))
    }

    /// The module of the artifact just written by [`ArtifactCache::save`]
    /// for `key`, memory-mapped from its file: a deploy serves this one and
    /// drops the module it compiled, whose code sits in anonymous memory,
    /// so a server that compiled its functions holds them as a restarted one
    /// does (file-backed, paged in as used). `None` when the file cannot be
    /// mapped (logged); the caller keeps the compiled module then.
    pub(crate) fn map_saved(
        &self,
        engine: &FunctionEngine,
        key: &ArtifactKey,
        checksum: ArtifactChecksum,
        preinitialized: bool,
    ) -> Option<PreparedModule> {
        self.map_file(engine, key, checksum, preinitialized).ok()
    }

    /// Deletes the files of artifacts no function uses any more.
    pub(crate) fn forget(&self, keys: &[ArtifactKey]) {
        if let Some(files) = &self.files {
            for key in keys {
                files.remove(key);
            }
        }
    }

    /// Deletes the artifacts of engines other than those of `keep`
    /// (records and files) and files that the store has no record of.
    pub(crate) fn collect_garbage(
        &self,
        store: &FunctionStore,
        keep: &[EngineFingerprint],
    ) -> Result<(), RuntimeError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        store.forget_other_engines(keep)?;
        let keep: HashSet<String> = store
            .artifact_keys()?
            .iter()
            .map(ArtifactKey::file_name)
            .collect();
        let removed = files.retain(&keep)?;
        if removed > 0 {
            tracing::info!(removed, "deleted artifact files no function uses");
        }
        Ok(())
    }

    /// The compiled module of `digest` (a stored module): from its artifact
    /// file when that exists and passes its checksum, else compiled from the
    /// stored bytes, with the new artifact saved and recorded.
    pub(crate) fn load(
        &self,
        engine: &FunctionEngine,
        store: &FunctionStore,
        metrics: &Metrics,
        digest: &ModuleDigest,
        preinitialized: bool,
    ) -> Result<PreparedModule, RuntimeError> {
        let key = ArtifactKey::new(digest.clone(), engine.fingerprint().clone());
        let reason = match self.load_artifact(engine, store, &key, preinitialized) {
            Ok(prepared) => {
                metrics.record_artifact_load();
                return Ok(prepared);
            }
            Err(reason) => reason,
        };
        let module = store.module(digest)?.ok_or_else(|| {
            RuntimeError::Corrupt(format!("module bytes of {digest} are missing"))
        })?;
        let prepared = engine.compile(&module, preinitialized)?;
        metrics.record_compile(reason);
        let Some(checksum) = self.save(engine, &key, &prepared)? else {
            return Ok(prepared);
        };
        if !store.put_artifact(&key, checksum)? {
            if let Some(files) = &self.files {
                files.remove(&key);
            }
            return Ok(prepared);
        }
        // Served from the file just written, as a deploy's module is.
        Ok(self
            .map_saved(engine, &key, checksum, preinitialized)
            .unwrap_or(prepared))
    }

    /// Tries the artifact file of `key`; says why it cannot be used.
    fn load_artifact(
        &self,
        engine: &FunctionEngine,
        store: &FunctionStore,
        key: &ArtifactKey,
        preinitialized: bool,
    ) -> Result<PreparedModule, CompileReason> {
        if self.files.is_none() {
            return Err(CompileReason::ArtifactMissing);
        }
        let checksum = store
            .artifact_checksum(key)
            .map_err(|error| {
                tracing::warn!(%error, "cannot read a precompiled artifact's checksum; recompiling");
                CompileReason::ArtifactMissing
            })?
            .ok_or(CompileReason::ArtifactMissing)?;
        self.map_file(engine, key, checksum, preinitialized)
    }

    /// The module in the artifact file of `key`, checked against
    /// `checksum` and memory-mapped; says (and logs) why it cannot be used.
    fn map_file(
        &self,
        engine: &FunctionEngine,
        key: &ArtifactKey,
        checksum: ArtifactChecksum,
        preinitialized: bool,
    ) -> Result<PreparedModule, CompileReason> {
        let files = self.files.as_ref().ok_or(CompileReason::ArtifactMissing)?;
        let missing = |error: RuntimeError| {
            tracing::warn!(%error, "cannot read a precompiled artifact; using a compiled module");
            CompileReason::ArtifactMissing
        };
        let mut file = files
            .open_file(key)
            .map_err(missing)?
            .ok_or(CompileReason::ArtifactMissing)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| {
            missing(RuntimeError::Artifact {
                what: "read",
                source: e.into(),
            })
        })?;
        if let Err(error) = checksum.verify(&bytes) {
            tracing::warn!(artifact = %key.file_name(), %error, "artifact refused; using a compiled module");
            return Err(CompileReason::ArtifactInvalid);
        }
        // SAFETY: the file's bytes were just verified against the checksum
        // recorded when faasrt wrote them; the file is only ever replaced by
        // rename, never written in place, so the mapping sees those bytes.
        unsafe { engine.deserialize_file(file, preinitialized) }.map_err(|error| {
            tracing::warn!(artifact = %key.file_name(), %error, "wasmtime refused the artifact; using a compiled module");
            CompileReason::ArtifactInvalid
        })
    }
}
