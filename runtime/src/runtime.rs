//! [`Runtime`]: the library API that the server, the CLI, tests and benches
//! all call: deploy, invoke, list, get, remove.

use crate::artifact_cache::ArtifactCache;
use crate::artifacts::ArtifactFiles;
use crate::config::RuntimeConfig;
use crate::data_dir::DataDir;
use crate::engine::{PreparedModule, RunRequest};
use crate::engines::Engines;
use crate::error::RuntimeError;
use crate::function::{Code, DeployOptions, EntryKind, FunctionInfo, FunctionKind};
use crate::host_threads::HostThreads;
use crate::invocation::{Invocation, InvokeRequest};
use crate::limits::FunctionLimits;
use crate::memory_layout::BoundsChecks;
use crate::metrics::{CompileReason, Metrics};
use crate::name::FunctionName;
use crate::native::{NativeExecutable, NativeRunner, OsStdio, validate_executable};
use crate::registry::{Executable, LoadedFunction, Registry};
use crate::store::{DeployWrite, FunctionStore};
use bytes::Bytes;
use faasrt_host_api::Faasin;
use faasrt_snapshots::{ArtifactChecksum, ArtifactKey, ModuleDigest, ModuleShape, Snapshot};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{Mutex, Semaphore};

/// One faasrt runtime: an engine, a store and the functions deployed in it.
///
/// Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: RuntimeConfig,
    pub(crate) data_dir: Option<DataDir>,
    pub(crate) engines: Engines,
    pub(crate) store: FunctionStore,
    pub(crate) artifacts: ArtifactCache,
    pub(crate) registry: Registry,
    pub(crate) metrics: Metrics,
    pub(crate) native: NativeRunner,
    /// Where compiles, store writes, native spawns and splice relays run.
    pub(crate) host: HostThreads,
    pub(crate) slots: Arc<Semaphore>,
    /// Serializes the commit + registry swap of deploys and removes, so the
    /// registry always ends up matching the store.
    pub(crate) publish: Mutex<()>,
}

impl Runtime {
    /// Opens the store described by `config` and loads every function in
    /// it, from precompiled artifacts where they are valid for this engine.
    ///
    /// A function whose artifact is missing, corrupt or from another engine
    /// configuration is recompiled from its stored module bytes, and the new
    /// artifact is stored.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidConfig`] for a setting that cannot work (see
    /// [`RuntimeConfig::validate`]), [`RuntimeError::DataDir`] when the data directory or its store cannot
    /// be used (another process holds it, say), [`RuntimeError::Store`],
    /// [`RuntimeError::EngineSetup`], [`RuntimeError::HostThreads`],
    /// [`RuntimeError::OnGuestThread`] when called on a thread that runs
    /// guest code.
    pub fn open(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        config.validate()?;
        let host = HostThreads::start(config.get_host_thread_keep_alive())?;
        let data_dir = config.get_data_dir().map(DataDir::open).transpose()?;
        let store = match &data_dir {
            Some(dir) => FunctionStore::open(dir)?,
            None => FunctionStore::in_memory()?,
        };
        let engines = Engines::new(&config)?;
        let artifacts = ArtifactCache::new(data_dir.as_ref().map(ArtifactFiles::open).transpose()?);
        let native = NativeRunner::new(config.get_max_output_bytes(), config.get_log_tail_bytes())?;
        let inner = Inner {
            slots: Arc::new(Semaphore::new(config.get_max_instances() as usize)),
            config,
            data_dir,
            engines,
            store,
            artifacts,
            registry: Registry::default(),
            metrics: Metrics::new(),
            publish: Mutex::new(()),
            native,
            host,
        };
        for info in inner.store.functions()? {
            let name = info.name.clone();
            match inner.load(info) {
                Ok(loaded) => inner.registry.insert(loaded),
                // One broken record must not keep the others from serving.
                Err(error) => {
                    tracing::error!(function = %name, %error, "cannot load function; skipped")
                }
            }
        }
        inner.metrics.set_function_count(inner.registry.len());
        // Every stored function is loaded, so every engine one needs is
        // built: the artifacts of any other are garbage.
        inner
            .artifacts
            .collect_garbage(&inner.store, &inner.engines.fingerprints())?;
        Ok(Runtime {
            inner: Arc::new(inner),
        })
    }

    /// The configuration this runtime was opened with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The data directory, or `None` for an in-memory runtime.
    pub fn data_dir(&self) -> Option<&DataDir> {
        self.inner.data_dir.as_ref()
    }

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
                let snapshot = built.snapshot.map(|s| s.wasm);
                Ok::<_, RuntimeError>((built.prepared, checksum.map(|c| (key, c)), snapshot))
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

    /// Runs function `name` once in a fresh instance.
    ///
    /// A trap, a non-zero exit, a timeout or an oversized output is reported
    /// in the returned [`Invocation`]'s status, not as an error.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Preparing`] when the server is still deploying it,
    /// [`RuntimeError::TooLarge`] (input), [`RuntimeError::Busy`] when every
    /// instance slot is in use.
    pub async fn invoke(
        &self,
        name: &str,
        request: InvokeRequest,
    ) -> Result<Invocation, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let function = self.inner.registry.lookup(name.as_str())?;
        let limit = self.inner.config.get_max_input_bytes();
        if request.input.len() > limit {
            return Err(RuntimeError::TooLarge {
                what: "input",
                limit,
            });
        }
        let admitted = function
            .admit()
            .inspect_err(|_| self.inner.metrics.record_rejected(name.as_str()))?;
        let Ok(slot) = self.inner.slots.clone().try_acquire_owned() else {
            self.inner.metrics.record_rejected(name.as_str());
            return Err(RuntimeError::Busy {
                limit: self.inner.config.get_max_instances(),
            });
        };
        let args = std::iter::once(name.to_string())
            .chain(function.info.args.iter().cloned())
            .chain(request.args)
            .collect();
        let run = RunRequest {
            args,
            input: Faasin::Bytes(request.input),
            output: None,
            memory_limit: function.info.limits.memory_bytes(),
            timeout: function.info.limits.timeout(),
        };
        // The guest runs right here, on the caller's executor thread, as an
        // async task on a fiber: it yields at every epoch tick and whenever
        // WASI blocks, so it never holds the thread for long, and no
        // cross-thread hand-off sits on the invocation's path.
        let invocation = self.inner.execute(&function, run).await;
        drop((slot, admitted));
        self.inner
            .metrics
            .record_invocation(name.as_str(), &invocation);
        Ok(invocation)
    }

    /// Every deployed function, in name order.
    pub fn list(&self) -> Vec<FunctionInfo> {
        self.inner.registry.infos()
    }

    /// The function called `name`.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`].
    pub fn get(&self, name: &str) -> Result<FunctionInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        self.inner
            .registry
            .lookup(name.as_str())
            .map(|f| f.info.clone())
    }

    /// Marks functions `names` as being prepared: until they are deployed
    /// (or [`Runtime::prepared`] says otherwise), invoking or getting one
    /// answers [`RuntimeError::Preparing`] instead of
    /// [`RuntimeError::NotFound`]. A server that deploys its examples after
    /// it started listening says so this way.
    pub fn preparing<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            self.inner.registry.set_preparing(name, true);
        }
    }

    /// Ends the preparation of `name`, whether its deploy worked or not.
    pub fn prepared(&self, name: &str) {
        self.inner.registry.set_preparing(name, false);
    }

    /// The functions still being prepared, in name order.
    pub fn still_preparing(&self) -> Vec<String> {
        self.inner.registry.preparing()
    }

    /// Removes function `name` from the store and stops serving it;
    /// invocations in flight finish.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Store`].
    pub async fn remove(&self, name: &str) -> Result<FunctionInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let _publishing = self.inner.publish.lock().await;
        let inner = self.inner.clone();
        let key = name.to_string();
        let removed = self
            .inner
            .blocking(move || {
                let replaced = inner.store.remove(&key)?;
                inner.artifacts.forget(&replaced.unused_artifacts);
                Ok::<_, RuntimeError>(replaced.previous)
            })
            .await??;
        self.inner.registry.remove(name.as_str());
        self.inner
            .metrics
            .set_function_count(self.inner.registry.len());
        removed.ok_or_else(|| RuntimeError::NotFound {
            name: name.to_string(),
        })
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

    /// The runtime's metrics in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.set_resources(&self.resources());
        self.inner.metrics.encode()
    }

    /// What the runtime holds right now: a leak shows here.
    pub fn resources(&self) -> ResourceUse {
        let slots = self.inner.config.get_max_instances() as usize;
        ResourceUse {
            instance_slots: slots - self.inner.slots.available_permits().min(slots),
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count()),
            native_processes: self.inner.native.live_processes(),
        }
    }

    /// Compiles and runs a module once without storing it (`faasrt run`).
    /// `args[0]` is the program name the guest sees.
    ///
    /// # Errors
    /// The compile errors of [`Runtime::deploy`], and those of
    /// [`Runtime::invoke`] but `NotFound`.
    pub async fn run_module(
        &self,
        module: Bytes,
        args: Vec<String>,
        input: Bytes,
        limits: FunctionLimits,
    ) -> Result<Invocation, RuntimeError> {
        let inner = self.inner.clone();
        let prepared = self
            .inner
            .blocking(move || {
                let mode = inner.engines.default_mode();
                inner
                    .build("main", &module, limits, false, mode)
                    .map(|built| built.prepared)
            })
            .await??;
        let Ok(slot) = self.inner.slots.clone().try_acquire_owned() else {
            return Err(RuntimeError::Busy {
                limit: self.inner.config.get_max_instances(),
            });
        };
        let run = RunRequest {
            args,
            input: Faasin::Bytes(input),
            output: None,
            memory_limit: limits.memory_bytes(),
            timeout: limits.timeout(),
        };
        let invocation = self.inner.engines.of(&prepared).run(&prepared, run).await;
        drop(slot);
        Ok(invocation)
    }
}

/// Resources a runtime holds at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceUse {
    /// Instance slots held by running invocations and pipeline stages.
    pub instance_slots: usize,
    /// File descriptors open in the process (all of it, not only faasrt's).
    pub open_fds: usize,
    /// Native function processes not yet reaped.
    pub native_processes: usize,
}

/// A deployed module, compiled: from its snapshot when pre-initialized.
struct Built {
    prepared: PreparedModule,
    snapshot: Option<Snapshot>,
}

impl Inner {
    /// Runs CPU-bound or blocking `work` (compilation, store commits) on a
    /// host thread (`host_threads.rs`), keeping the caller's thread free.
    ///
    /// # Errors
    /// [`RuntimeError::HostTaskFailed`] when `work` panicked.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RuntimeError> {
        self.host.run(work).await
    }

    /// Compiles module bytes for a deploy, pre-initializing them first when
    /// they export `wizer-initialize` (unless `skip_preinit`).
    ///
    /// Runs on a host thread, which drives the async pre-init itself (the
    /// host runtime's drivers serve its timers).
    fn build(
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

    /// Runs one invocation or pipeline stage of `function`: in a fresh wasm
    /// instance, or as a child process for a native function.
    pub(crate) async fn execute(&self, function: &LoadedFunction, run: RunRequest) -> Invocation {
        self.execute_stage(function, run, OsStdio::default()).await
    }

    /// [`Inner::execute`] for a pipeline stage: a native stage may take OS
    /// descriptors for its stdin and stdout (`os`: the ends of a splice edge
    /// to an adjacent native stage); a wasm stage never gets any.
    pub(crate) async fn execute_stage(
        &self,
        function: &LoadedFunction,
        run: RunRequest,
        os: OsStdio,
    ) -> Invocation {
        match &function.executable {
            Executable::Wasm(prepared) => {
                debug_assert!(os.stdin.is_none() && os.stdout.is_none());
                self.engines.of(prepared).run(prepared, run).await
            }
            Executable::Native(executable) => {
                self.native.run_with(&self.host, executable, run, os).await
            }
        }
    }

    /// Loads a stored function: from its artifact when that is valid for
    /// this engine, else by recompiling its stored module bytes.
    fn load(&self, mut info: FunctionInfo) -> Result<LoadedFunction, RuntimeError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Bytes {
        Bytes::from_static(
            faasrt_example_artifacts::get("hello")
                .expect("hello is built")
                .wasm,
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn limits_outside_the_caps_are_refused() {
        let runtime = Runtime::open(RuntimeConfig::in_memory().max_memory_mb(128)).expect("open");
        let options = DeployOptions {
            limits: crate::limits::RequestedLimits {
                memory_mb: Some(129),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            runtime.deploy("hello", hello(), options).await,
            Err(RuntimeError::InvalidLimit(_))
        ));
        assert!(runtime.list().is_empty());
    }
}
