//! [`Runtime`]: the library API that the server, the CLI, tests and benches
//! all call: deploy, invoke, list, get, remove.

use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::function::{FunctionInfo, FunctionStatus};
use crate::function_logs::LogEntry;
use crate::host_threads::HostThreads;
use crate::invocation::{Invocation, InvokeRequest};
use crate::invocation::{KvUse, RunRequest};
use crate::journal::InvocationRecord;
use crate::limits::FunctionLimits;
use crate::metrics::Metrics;
use crate::name::FunctionName;
use crate::native::{NativeRunner, OsStdio};
use crate::registry::{Executable, LoadedFunction, Registry};
use crate::resident::status_of;
use crate::resource_use::ResourceUse;
use crate::store::FunctionStore;
use crate::store::data_dir::DataDir;
use crate::wasm::artifact_cache::ArtifactCache;
use crate::wasm::artifacts::ArtifactFiles;
use crate::wasm::engines::Engines;
use bytes::Bytes;
use faasrt_host_api::{Faasin, KvAccess};
use std::sync::Arc;
use std::time::Instant;
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
    pub(crate) store: Arc<FunctionStore>,
    pub(crate) artifacts: ArtifactCache,
    pub(crate) registry: Registry,
    pub(crate) metrics: Metrics,
    /// One record per invocation, for `GET /v1/invocations` and followers.
    pub(crate) journal: crate::journal::Journal,
    /// Each function's recent logs, for `GET /v1/functions/{name}/logs`.
    pub(crate) logs: crate::function_logs::FunctionLogs,
    /// The platform's time series, for `GET /v1/platform`.
    pub(crate) platform: crate::platform::Platform,
    /// The pipes of running pipelines, for the platform's samples.
    pub(crate) live_pipes: crate::platform::LivePipes,
    pub(crate) native: NativeRunner,
    /// Where compiles, store writes, native spawns and splice relays run.
    pub(crate) host: HostThreads,
    pub(crate) slots: Arc<Semaphore>,
    /// Whether runs are counted with hardware counters: asked for, and
    /// allowed by this machine (`hw_counters.rs`).
    pub(crate) hw_counters: bool,
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
        crate::heap::configure_heap();
        config.validate()?;
        let host = HostThreads::start(config.get_host_thread_keep_alive())?;
        let data_dir = config.get_data_dir().map(DataDir::open).transpose()?;
        let store = Arc::new(match &data_dir {
            Some(dir) => FunctionStore::open(dir)?,
            None => FunctionStore::in_memory()?,
        });
        let engines = Engines::new(&config)?;
        let artifacts = ArtifactCache::new(data_dir.as_ref().map(ArtifactFiles::open).transpose()?);
        let hw_counters = counting_allowed(&config);
        let native = NativeRunner::new(
            config.get_max_output_bytes(),
            config.get_log_tail_bytes(),
            hw_counters,
        )?;
        let inner = Inner {
            hw_counters,
            slots: Arc::new(Semaphore::new(config.get_max_instances() as usize)),
            config,
            data_dir,
            engines,
            store,
            artifacts,
            registry: Registry::default(),
            metrics: Metrics::new(),
            journal: crate::journal::Journal::new(crate::journal::JOURNAL_CAPACITY),
            logs: crate::function_logs::FunctionLogs::new(crate::FUNCTION_LOG_BYTES),
            platform: crate::platform::Platform::new(),
            live_pipes: crate::platform::LivePipes::default(),
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
        // What recompiling functions whose artifacts were missing freed.
        crate::heap::release_freed_heap();
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

    /// Runs function `name` once in a fresh instance.
    ///
    /// A trap, a non-zero exit, a timeout or an oversized output is reported
    /// in the returned [`Invocation`]'s status, not as an error.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Preparing`] when the server is still deploying it,
    /// [`RuntimeError::TooLarge`] (input), [`RuntimeError::Busy`] when every
    /// instance slot is in use ([`RuntimeError::FunctionBusy`]: every
    /// permit of the function's own limit), and stays so for
    /// [`RuntimeConfig::slot_wait`], [`RuntimeError::DigestChanged`] when the
    /// request pins a digest the deployed function no longer has.
    pub async fn invoke(
        &self,
        name: &str,
        request: InvokeRequest,
    ) -> Result<Invocation, RuntimeError> {
        let arrival = Instant::now();
        let name = FunctionName::parse(name)?;
        let function = self.inner.registry.lookup(name.as_str())?;
        if let Some(expected) = request.digest
            && expected != function.info.digest
        {
            return Err(RuntimeError::DigestChanged {
                name: name.to_string(),
                expected,
                deployed: function.info.digest.clone(),
            });
        }
        let limit = self.inner.config.get_max_input_bytes();
        if request.input.len() > limit {
            return Err(RuntimeError::TooLarge {
                what: "input",
                limit,
            });
        }
        let admission = self.inner.admit(&function, arrival).await?;
        let args = std::iter::once(name.to_string())
            .chain(function.info.args.iter().cloned())
            .chain(request.args)
            .collect();
        let input_bytes = request.input.len() as u64;
        let trace = request.trace;
        let start = Instant::now();
        let run = RunRequest {
            args,
            input: Faasin::Bytes(request.input),
            output: None,
            memory_limit: function.info.limits.memory_bytes(),
            timeout: function.info.limits.timeout(),
            kv: request.kv,
        };
        // The guest runs right here, on the caller's executor thread, as an
        // async task on a fiber: it yields at every epoch tick and whenever
        // WASI blocks, so it never holds the thread for long, and no
        // cross-thread hand-off sits on the invocation's path.
        let running = function.running();
        let mut invocation = self.inner.execute(&function, run).await;
        let ended = Instant::now();
        let dequeued = admission.waited_until.unwrap_or(arrival);
        // The slot is free before the reply: a waiter may start now.
        drop((admission, running));
        self.inner
            .platform
            .counters
            .ended(invocation.status.outcome());
        self.inner
            .metrics
            .record_invocation(name.as_str(), &invocation);
        let journal = &self.inner.journal;
        let native = function.is_native();
        let usage = invocation.usage;
        let end_ns = journal.nanos(ended);
        // Taken last: what follows (keeping the record and the log) is the
        // hand-back itself.
        let reply = Instant::now();
        let seq = journal.record(InvocationRecord {
            seq: 0,
            function: function.journal_name.clone(),
            kind: if native { "native" } else { "wasm" },
            start_kind: function.start_kind(),
            arrival_ns: journal.nanos(arrival),
            dequeue_ns: journal.nanos(dequeued),
            start_ns: journal.nanos(start),
            ready_ns: journal.nanos(start + usage.ready_after),
            end_ns,
            reply_ns: journal.nanos(reply),
            outcome: invocation.status.label(),
            exit_code: invocation.status.exit_code(),
            input_bytes,
            output_bytes: invocation.output.len() as u64,
            cpu_ns: usage.cpu.map(|cpu| cpu.as_nanos() as u64),
            peak_memory_bytes: usage.peak_memory_bytes,
            cycles: usage.hw.map(|hw| hw.cycles),
            instructions: usage.hw.map(|hw| hw.instructions),
            llc_misses: usage.hw.map(|hw| hw.llc_misses),
            stage: None,
            trace,
        });
        invocation.seq = seq;
        if !invocation.log_tail.is_empty() {
            self.inner.logs.record(LogEntry {
                invocation: seq,
                function: function.journal_name.clone(),
                end_ns,
                outcome: invocation.status.label(),
                log: invocation.log_tail.clone(),
            });
        }
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

    /// Whether `name` is deployed and ready, without copying its record:
    /// what a caller checks before reading an invocation's input.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Preparing`].
    pub fn check_deployed(&self, name: &str) -> Result<(), RuntimeError> {
        let name = FunctionName::parse(name)?;
        self.inner.registry.lookup(name.as_str()).map(drop)
    }

    /// Every deployed function with what it keeps in memory now, in name
    /// order.
    pub fn statuses(&self) -> Vec<FunctionStatus> {
        self.inner
            .registry
            .functions()
            .iter()
            .map(|function| status_of(function))
            .collect()
    }

    /// The function called `name`, with what it keeps in memory now.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Preparing`].
    pub fn status(&self, name: &str) -> Result<FunctionStatus, RuntimeError> {
        let name = FunctionName::parse(name)?;
        let function = self.inner.registry.lookup(name.as_str())?;
        Ok(status_of(&function))
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
        self.inner.logs.forget(name.as_str());
        self.inner
            .metrics
            .set_function_count(self.inner.registry.len());
        removed.ok_or_else(|| RuntimeError::NotFound {
            name: name.to_string(),
        })
    }

    /// The runtime's metrics in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.set_resources(&self.resources());
        self.inner.metrics.set_resident(&self.statuses());
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
            // A module run once, unstored, has no function to keep state for.
            kv: crate::invocation::KvUse::Refused,
        };
        let invocation = self
            .inner
            .engines
            .of(&prepared)
            .run(&prepared, run, KvAccess::Unavailable)
            .await;
        drop(slot);
        Ok(invocation)
    }
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
        let kv = match run.kv {
            KvUse::Function => Some(self.kv_transaction(&function.info)),
            KvUse::Refused => None,
        };
        let access = kv.clone().map_or(KvAccess::Unavailable, KvAccess::Function);
        let invocation = match &function.executable {
            Executable::Wasm(prepared) => {
                debug_assert!(os.stdin.is_none() && os.stdout.is_none());
                let run = self.engines.of(prepared).run(prepared, run, access);
                let (mut invocation, ran, counted) =
                    crate::poll_time::timed_polls(run, self.hw_counters).await;
                invocation.usage.cpu = Some(ran);
                invocation.usage.hw = counted;
                invocation
            }
            Executable::Native(executable) => {
                self.native
                    .run_with(&self.host, executable, run, os, access)
                    .await
            }
        };
        match kv {
            Some(kv) => self.commit_kv(&function.info, kv, invocation).await,
            None => invocation,
        }
    }
}

/// Whether runs are counted with hardware counters: `config` asks for
/// them and this machine allows them. The machine is probed either way,
/// once per process, before `faasrt serve` installs its seccomp filter, so
/// that `faasrt doctor`'s report never probes under it.
fn counting_allowed(config: &RuntimeConfig) -> bool {
    match crate::hw_counters::probe() {
        Ok(()) => config.get_hw_counters(),
        Err(error) if config.get_hw_counters() => {
            tracing::warn!(
                error = %crate::error_chain(error),
                "hardware counters are on but this machine refuses them: the journal's cycles, instructions and llc_misses stay null (see faasrt doctor)"
            );
            false
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::DeployOptions;

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

    #[tokio::test(flavor = "multi_thread")]
    async fn check_deployed_tells_deployed_preparing_missing_and_bad_names() {
        let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("open");
        runtime
            .deploy("hello", hello(), DeployOptions::default())
            .await
            .expect("deploy");
        assert!(runtime.check_deployed("hello").is_ok());
        assert!(matches!(
            runtime.check_deployed("other"),
            Err(RuntimeError::NotFound { .. })
        ));
        assert!(matches!(
            runtime.check_deployed("../x"),
            Err(RuntimeError::InvalidName { .. })
        ));
        runtime.preparing(["later"]);
        assert!(matches!(
            runtime.check_deployed("later"),
            Err(RuntimeError::Preparing { .. })
        ));
    }
}
