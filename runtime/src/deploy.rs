//! Deploying: checking a function's code and limits, compiling (and
//! pre-initializing) it or sealing its executable, committing it to the
//! store and publishing it in the registry; and loading stored functions
//! when a runtime opens.

use crate::bounds_checks::BoundsChecks;
use crate::error::RuntimeError;
use crate::function::{Code, DeployOptions, EntryKind, FunctionInfo, FunctionKind};
use crate::limits::FunctionLimits;
use crate::metrics::CompileReason;
use crate::name::FunctionName;
use crate::native::{NativeExecutable, validate_executable};
use crate::registry::{Executable, LoadedFunction};
use crate::runtime::{Inner, Runtime};
use crate::store::DeployWrite;
use crate::wasm::PreparedModule;
use bytes::Bytes;
use faasrt_snapshots::{ArtifactChecksum, ArtifactKey, ModuleDigest, ModuleShape, Snapshot};
use std::time::SystemTime;

impl Runtime {
    /// Validates, compiles and stores `module` as function `name`, replacing
    /// any function of that name atomically: invocations in flight finish on
    /// the old version, later ones get the new one.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::TooLarge`],
    /// [`RuntimeError::InvalidModule`], [`RuntimeError::UnknownImports`],
    /// [`RuntimeError::MissingEntryPoint`], [`RuntimeError::InvalidLimit`],
    /// [`RuntimeError::Store`]. On error nothing is stored and the previous
    /// version, if any, keeps serving.
    pub async fn deploy(
        &self,
        name: &str,
        module: Bytes,
        options: DeployOptions,
    ) -> Result<FunctionInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let limit = self.inner.config.get_max_module_bytes();
        if module.len() > limit {
            return Err(RuntimeError::TooLarge {
                what: "module",
                limit,
            });
        }
        let limits = self.inner.resolve_limits(options.limits)?;
        let wasm = match options.code {
            Code::Native => return self.deploy_native(name, module, options.args, limits).await,
            Code::Wasm(wasm) => wasm,
        };
        let bounds_checks = wasm
            .bounds_checks
            .unwrap_or(self.inner.engines.default_mode());
        let inner = self.inner.clone();
        let function_name = name.to_string();
        let skip_preinit = wasm.skip_preinit;
        // Compiling (and pre-initializing) is CPU-bound and makes
        // executable memory: a host thread's work.
        let (module, built) = self
            .inner
            .blocking(move || {
                let built =
                    inner.build(&function_name, &module, limits, skip_preinit, bounds_checks);
                built.map(|built| (module, built))
            })
            .await??;
        let digest = ModuleDigest::of(&module);
        let snapshot_digest = built.snapshot.as_ref().map(|s| ModuleDigest::of(&s.wasm));
        let info = FunctionInfo {
            name: name.to_string(),
            digest: digest.to_string(),
            size: module.len() as u64,
            args: options.args,
            limits,
            deployed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            kind: FunctionKind::Wasm,
            entry: built.prepared.entry().kind(),
            preinitialized: built.snapshot.is_some(),
            preinit_us: built
                .snapshot
                .as_ref()
                .map(|s| s.duration.as_micros() as u64),
            snapshot_digest: snapshot_digest.as_ref().map(ToString::to_string),
            bounds_checks: Some(bounds_checks),
        };
        let key = ArtifactKey::new(
            snapshot_digest.unwrap_or(digest),
            self.inner.engines.of(&built.prepared).fingerprint().clone(),
        );
        // The artifact file goes first: a record never points to a file that
        // is not there. A file left by a failed commit is collected at the
        // next start.
        let inner = self.inner.clone();
        let (prepared, artifact, snapshot) = self
            .inner
            .blocking(move || {
                let engine = inner.engines.of(&built.prepared);
                let checksum = inner.artifacts.save(engine, &key, &built.prepared)?;
                let preinitialized = built.snapshot.is_some();
                let prepared = checksum
                    .and_then(|c| inner.artifacts.map_saved(engine, &key, c, preinitialized))
                    .unwrap_or(built.prepared);
                let snapshot = built.snapshot.map(|s| s.wasm);
                Ok::<_, RuntimeError>((prepared, checksum.map(|c| (key, c)), snapshot))
            })
            .await??;
        self.publish(
            LoadedFunction::new(info, Executable::Wasm(prepared)),
            module,
            snapshot,
            artifact,
        )
        .await
    }

    /// Commits a deploy (record, bytes, artifact checksum) and then makes
    /// `function` the one served under its name: one path for wasm and
    /// native functions. A mutex orders the commit and the swap of
    /// concurrent deploys and removes, so the registry always matches the
    /// store; invocations in flight keep the version they started with.
    async fn publish(
        &self,
        function: LoadedFunction,
        module: Bytes,
        snapshot: Option<Vec<u8>>,
        artifact: Option<(ArtifactKey, ArtifactChecksum)>,
    ) -> Result<FunctionInfo, RuntimeError> {
        let info = function.info.clone();
        let _publishing = self.inner.publish.lock().await;
        let inner = self.inner.clone();
        let write_info = info.clone();
        self.inner
            .blocking(move || {
                let replaced = inner.store.deploy(DeployWrite {
                    info: &write_info,
                    module: &module,
                    snapshot: snapshot.as_deref(),
                    artifact: artifact.as_ref().map(|(key, checksum)| (key, *checksum)),
                })?;
                inner.artifacts.forget(&replaced.unused_artifacts);
                drop((module, snapshot));
                crate::heap::release_freed_heap();
                Ok::<_, RuntimeError>(())
            })
            .await??;
        self.inner.registry.insert(function);
        self.inner.metrics.record_deploy(&info.name);
        self.inner
            .metrics
            .set_function_count(self.inner.registry.len());
        Ok(info)
    }

    /// Deploys an executable as native function `name`.
    async fn deploy_native(
        &self,
        name: FunctionName,
        executable: Bytes,
        args: Vec<String>,
        limits: FunctionLimits,
    ) -> Result<FunctionInfo, RuntimeError> {
        validate_executable(&executable)?;
        let info = FunctionInfo {
            name: name.to_string(),
            digest: ModuleDigest::of(&executable).to_string(),
            size: executable.len() as u64,
            args,
            limits,
            deployed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            kind: FunctionKind::Native,
            entry: EntryKind::Command,
            preinitialized: false,
            preinit_us: None,
            snapshot_digest: None,
            bounds_checks: None,
        };
        let loaded = NativeExecutable::new(&executable)?;
        self.publish(
            LoadedFunction::new(info, Executable::Native(loaded)),
            executable,
            None,
            None,
        )
        .await
    }
}

/// A deployed module, compiled: from its snapshot when pre-initialized.
pub(crate) struct Built {
    /// The compiled module.
    pub(crate) prepared: PreparedModule,
    /// Its snapshot, when it was pre-initialized.
    pub(crate) snapshot: Option<Snapshot>,
}

impl Inner {
    /// Compiles module bytes for a deploy, pre-initializing them first when
    /// they export `wizer-initialize` (unless `skip_preinit`).
    ///
    /// Runs on a host thread, which drives the async pre-init itself (the
    /// host runtime's drivers serve its timers).
    pub(crate) fn build(
        &self,
        name: &str,
        module: &[u8],
        limits: FunctionLimits,
        skip_preinit: bool,
        bounds_checks: BoundsChecks,
    ) -> Result<Built, RuntimeError> {
        let engine = self.engines.get(bounds_checks)?;
        let wants_preinit = ModuleShape::read(module).is_ok_and(|shape| shape.wants_preinit());
        if skip_preinit || !wants_preinit {
            let prepared = engine.compile(module, false)?;
            self.metrics.record_compile(CompileReason::Deploy);
            return Ok(Built {
                prepared,
                snapshot: None,
            });
        }
        // Check what the original can be checked for before running any of
        // its code; the snapshot is compiled (and fully checked) afterwards.
        engine.validate(module)?;
        let shape =
            ModuleShape::read(module).map_err(|reason| RuntimeError::InvalidModule { reason })?;
        let unknown =
            engine.unknown_imports(shape.imports.iter().map(|(m, n)| (m.as_str(), n.as_str())));
        if !unknown.is_empty() {
            return Err(RuntimeError::UnknownImports { names: unknown });
        }
        let time_limit = std::time::Duration::from_millis(self.config.get_max_preinit_ms());
        let snapshot = tokio::runtime::Handle::current().block_on(engine.preinitialize(
            module,
            name,
            limits.memory_bytes(),
            time_limit,
        ))?;
        let prepared = engine.compile(&snapshot.wasm, true)?;
        self.metrics.record_compile(CompileReason::Deploy);
        Ok(Built {
            prepared,
            snapshot: Some(snapshot),
        })
    }

    /// Loads a stored function: from its artifact when that is valid for
    /// this engine, else by recompiling its stored module bytes.
    pub(crate) fn load(&self, mut info: FunctionInfo) -> Result<LoadedFunction, RuntimeError> {
        if info.is_native() {
            let digest = ModuleDigest::parse(&info.digest)
                .ok_or_else(|| RuntimeError::Corrupt(format!("bad digest {:?}", info.digest)))?;
            let bytes = self
                .store
                .module(&digest)?
                .ok_or_else(|| RuntimeError::Corrupt(format!("executable {digest} is missing")))?;
            let executable = Executable::Native(NativeExecutable::new(&bytes)?);
            return Ok(LoadedFunction::new(info, executable));
        }
        let digest = ModuleDigest::parse(info.executed_digest()).ok_or_else(|| {
            RuntimeError::Corrupt(format!("bad digest {:?}", info.executed_digest()))
        })?;
        let mode = *info
            .bounds_checks
            .get_or_insert(self.engines.default_mode());
        let prepared = self.artifacts.load(
            self.engines.get(mode)?,
            &self.store,
            &self.metrics,
            &digest,
            info.preinitialized,
        )?;
        Ok(LoadedFunction::new(info, Executable::Wasm(prepared)))
    }

    /// Fills in limits left out with the defaults, and checks them against
    /// the server's caps.
    fn resolve_limits(
        &self,
        requested: crate::limits::RequestedLimits,
    ) -> Result<FunctionLimits, RuntimeError> {
        let defaults = self.config.get_default_limits();
        let max_memory = self.config.get_max_memory_mb();
        let limits = FunctionLimits {
            // A server capped below the default gives its cap by default.
            memory_mb: requested
                .memory_mb
                .unwrap_or(defaults.memory_mb.min(max_memory)),
            timeout_ms: requested
                .timeout_ms
                .unwrap_or(defaults.timeout_ms.min(self.config.get_max_timeout_ms())),
            max_concurrency: requested.max_concurrency.or(defaults.max_concurrency),
            kv_max_keys: requested.kv_max_keys.unwrap_or(defaults.kv_max_keys),
            kv_max_bytes: requested.kv_max_bytes.unwrap_or(defaults.kv_max_bytes),
        };
        if limits.memory_mb == 0 || limits.memory_mb > max_memory {
            return Err(RuntimeError::InvalidLimit(format!(
                "memory_mb must be between 1 and {max_memory}, got {}",
                limits.memory_mb
            )));
        }
        let slots = self.config.get_max_instances();
        if let Some(limit) = limits.max_concurrency
            && (limit == 0 || limit > slots)
        {
            return Err(RuntimeError::InvalidLimit(format!(
                "max_concurrency must be between 1 and the server's {slots} instance slots, got {limit}"
            )));
        }
        let max_timeout = self.config.get_max_timeout_ms();
        if limits.timeout_ms == 0 || limits.timeout_ms > max_timeout {
            return Err(RuntimeError::InvalidLimit(format!(
                "timeout_ms must be between 1 and {max_timeout}, got {}",
                limits.timeout_ms
            )));
        }
        Ok(limits)
    }
}
