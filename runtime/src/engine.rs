//! The wasmtime engine every function runs on: configuration, compilation,
//! precompiled artifacts, and running one invocation.
//!
//! One `Engine` with the pooling instance allocator serves all functions, so
//! an invocation takes a pre-reserved slot instead of mapping memory, and
//! linear memories start as copy-on-write images of the module's data. Guest
//! code runs async on fibers: a guest that computes for long yields at each
//! epoch tick, so many invocations share a few threads fairly, and one that
//! runs past its timeout is interrupted at the next tick.

use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::invocation::{Invocation, InvocationStatus};
use crate::memory_layout::{BoundsChecks, MAX_STRIPE_KEYS, MemoryLayout};
use faasrt_host_api::{
    Faasin, Faasout, GuestSetup, GuestState, HostLinker, ImportError, InputUnavailable, LogTail,
    OutputCapture, OutputTooLarge, PipeWriter,
};
use faasrt_snapshots::{EngineFingerprint, Snapshot};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::{
    CallHook, Config, Enabled, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Module,
    PoolingAllocationConfig, Store, UpdateDeadline,
};

/// How often the epoch advances. It bounds how late a timeout fires and how
/// long a computing guest keeps its thread before yielding to others.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// How much of each slot's linear memory and table may stay resident between
/// instances when the kernel can tell dirty pages (`PAGEMAP_SCAN`).
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// The name of the entry point every function exports.
pub(crate) const ENTRY_POINT: &str = "_start";

/// The name of a reactor's per-invocation export.
pub(crate) const REACTOR_ENTRY: &str = "handle";

/// A reactor's own initialization export (WASI reactor ABI).
const REACTOR_INITIALIZE: &str = "_initialize";

/// How an invocation enters a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A command: `_start: () -> ()`.
    Command,
    /// A reactor: `handle: () -> ()` or `() -> i32` (the status), after
    /// `_initialize` when the module was not pre-initialized (pre-init ran
    /// it already, and it must not run twice).
    Reactor {
        initialize: bool,
        returns_status: bool,
    },
}

impl Entry {
    /// `command` or `reactor`, as reported by the API.
    pub(crate) fn kind(&self) -> crate::function::EntryKind {
        match self {
            Entry::Command => crate::function::EntryKind::Command,
            Entry::Reactor { .. } => crate::function::EntryKind::Reactor,
        }
    }
}

/// A function compiled and linked, ready to instantiate.
pub(crate) struct PreparedModule {
    pre: InstancePre<GuestState>,
    entry: Entry,
    bounds_checks: BoundsChecks,
}

impl PreparedModule {
    /// The compiled module.
    pub(crate) fn module(&self) -> &Module {
        self.pre.module()
    }

    /// How invocations enter it.
    pub(crate) fn entry(&self) -> Entry {
        self.entry
    }

    /// The mode of the engine that compiled it (and must run it).
    pub(crate) fn bounds_checks(&self) -> BoundsChecks {
        self.bounds_checks
    }
}

/// What one invocation runs with.
pub(crate) struct RunRequest {
    pub args: Vec<String>,
    pub input: Faasin,
    /// Where fd 1 goes: `None` captures it (up to the output limit) into the
    /// returned [`Invocation`]; a pipe streams it to the next stage.
    pub output: Option<PipeWriter>,
    pub memory_limit: usize,
    pub timeout: Duration,
}

/// The engine, the linker shared by all functions, and the epoch ticker.
pub(crate) struct FunctionEngine {
    engine: Engine,
    linker: HostLinker,
    fingerprint: EngineFingerprint,
    max_output_bytes: usize,
    max_log_bytes: u64,
    log_tail_bytes: usize,
    /// Guest memories are striped with protection keys, so wasmtime
    /// rewrites PKRU whenever a guest enters or leaves.
    pkey_striping: bool,
    bounds_checks: BoundsChecks,
    ticker: Option<EpochTicker>,
}

/// Invocation ended because its time ran out.
#[derive(Debug, thiserror::Error)]
#[error("invocation exceeded its timeout")]
struct TimedOut;

impl FunctionEngine {
    /// Builds the engine described by `config`.
    pub(crate) fn new(config: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let slots = config.get_max_instances();
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(slots)
            .total_memories(slots)
            .total_tables(slots)
            .total_stacks(slots)
            .total_component_instances(0)
            .max_memory_size((config.get_max_memory_mb() as usize) << 20)
            .table_elements(100_000);
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            // Reset only the pages an instance dirtied, with memset, instead
            // of madvise: no syscall that makes the kernel shoot down TLBs on
            // every CPU, and the next instance finds the pages resident.
            pool.pagemap_scan(Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(KEEP_RESIDENT_BYTES);
        }
        let layout = MemoryLayout::of(config);
        layout.check(config)?;
        if layout.striped() {
            pool.memory_protection_keys(Enabled::Yes)
                .max_memory_protection_keys(MAX_STRIPE_KEYS);
        }
        let strategy = if config.get_pooling() {
            InstanceAllocationStrategy::Pooling(pool)
        } else {
            InstanceAllocationStrategy::OnDemand
        };
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .allocation_strategy(strategy)
            .memory_init_cow(true);
        if config.get_explicit_bounds_checks() {
            // No guard pages and no signal-based traps: wasm code checks
            // its own bounds, and a pool slot's memory needs no protection
            // change per instantiation, so no TLB shoot-down interrupts the
            // neighbours' threads (see docs/benchmarks.md, isolation).
            wasm.memory_guard_size(0)
                .signals_based_traps(false)
                .memory_reservation(layout.reservation_bytes);
        }
        let engine = Engine::new(&wasm).map_err(|e| RuntimeError::EngineSetup(e.into()))?;
        // A striped pool allows every protection key on the thread that
        // creates it; a secret region made before must stay denied there.
        faasrt_isolation::reassert_secret_denials();
        let linker = HostLinker::new(&engine).map_err(|e| RuntimeError::EngineSetup(e.into()))?;
        let fingerprint = EngineFingerprint::of(&engine);
        let ticker = Some(EpochTicker::start(engine.clone()));
        Ok(FunctionEngine {
            engine,
            linker,
            fingerprint,
            max_output_bytes: config.get_max_output_bytes(),
            log_tail_bytes: config.get_log_tail_bytes(),
            max_log_bytes: config.get_max_log_bytes(),
            pkey_striping: layout.striped(),
            bounds_checks: config.get_bounds_checks(),
            ticker,
        })
    }

    /// With striped memories, lets host code on this thread touch every
    /// stripe (the secrets excepted). wasmtime assumes every host thread may:
    /// it resets, snapshots and copies into guest memories outside guest
    /// calls. It allows all keys only on the thread that created the pool,
    /// and a thread started before then (an async worker, when this engine
    /// was built for the first guard-pages function) denies them.
    fn open_stripes_to_host(&self) {
        if self.pkey_striping {
            faasrt_isolation::allow_all_keys_but_secrets();
        }
    }

    /// The fingerprint that keys this engine's precompiled artifacts.
    pub(crate) fn fingerprint(&self) -> &EngineFingerprint {
        &self.fingerprint
    }

    /// Validates and compiles module bytes, and links them against the host.
    ///
    /// CPU-heavy: call it off the async threads.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidModule`] for bytes that are not a valid module
    /// (text format included: only the binary format is accepted),
    /// [`RuntimeError::UnknownImports`], [`RuntimeError::MissingEntryPoint`].
    /// `preinitialized` says whether `bytes` are a snapshot (a reactor's
    /// `_initialize` then already ran).
    pub(crate) fn compile(
        &self,
        bytes: &[u8],
        preinitialized: bool,
    ) -> Result<PreparedModule, RuntimeError> {
        let module =
            Module::from_binary(&self.engine, bytes).map_err(|e| RuntimeError::InvalidModule {
                reason: format!("{e:#}"),
            })?;
        self.prepare(module, preinitialized)
    }

    /// Validates module bytes without compiling them.
    pub(crate) fn validate(&self, bytes: &[u8]) -> Result<(), RuntimeError> {
        Module::validate(&self.engine, bytes).map_err(|e| RuntimeError::InvalidModule {
            reason: format!("{e:#}"),
        })
    }

    /// The imports the host does not define.
    pub(crate) fn unknown_imports<'a>(
        &self,
        imports: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<String> {
        self.linker.unknown_imports(imports)
    }

    /// Loads a precompiled artifact produced by [`FunctionEngine::serialize`]
    /// from `file`, memory-mapping it rather than copying it.
    ///
    /// # Safety
    /// `file` must hold exactly the bytes [`FunctionEngine::serialize`]
    /// produced, verified against their recorded checksum by the caller, and
    /// must not change while the module is alive.
    ///
    /// # Errors
    /// [`RuntimeError::Artifact`] when wasmtime refuses the artifact (another
    /// wasmtime version or configuration); the caller recompiles then.
    pub(crate) unsafe fn deserialize_file(
        &self,
        file: std::fs::File,
        preinitialized: bool,
    ) -> Result<PreparedModule, RuntimeError> {
        // SAFETY: the caller's contract above is wasmtime's: the bytes come
        // from `Module::serialize` of a compatible engine (the file name
        // carries this engine's fingerprint; wasmtime also checks the version
        // and configuration header) and were verified against the SHA-256
        // recorded at write time. Artifact files are only written through the
        // data directory (mode 0700) and replaced by rename, never in place.
        let module = unsafe { Module::deserialize_open_file(&self.engine, file) }.map_err(|e| {
            RuntimeError::Artifact {
                what: "deserialize",
                source: e.into(),
            }
        })?;
        self.prepare(module, preinitialized)
    }

    /// Serializes a compiled module into a precompiled artifact.
    pub(crate) fn serialize(&self, prepared: &PreparedModule) -> Result<Vec<u8>, RuntimeError> {
        prepared
            .module()
            .serialize()
            .map_err(|e| RuntimeError::Artifact {
                what: "serialize",
                source: e.into(),
            })
    }

    fn prepare(
        &self,
        module: Module,
        preinitialized: bool,
    ) -> Result<PreparedModule, RuntimeError> {
        let entry = entry_of(&module, preinitialized)?;
        let pre = self.linker.pre_instantiate(&module).map_err(|e| match e {
            ImportError::Unknown { names } => RuntimeError::UnknownImports { names },
            ImportError::Mismatch(reason) => RuntimeError::InvalidModule { reason },
        })?;
        create_memory_image(&module)?;
        Ok(PreparedModule {
            pre,
            entry,
            bounds_checks: self.bounds_checks,
        })
    }

    /// A store for one guest run (an invocation or a pre-initialization):
    /// memory limit, and an epoch deadline that yields at every tick and
    /// stops the guest with [`TimedOut`] after `timeout`.
    fn new_store(&self, setup: GuestSetup, timeout: Duration) -> Store<GuestState> {
        self.open_stripes_to_host();
        let mut store = Store::new(&self.engine, GuestState::new(setup));
        store.limiter(|state| state.limiter());
        if self.pkey_striping && faasrt_isolation::secrets_protected() {
            // wasmtime allows every protection key when a guest returns or
            // calls into the host, the secret region's key included; deny
            // that one again before any host code runs on the guest's
            // behalf. (Entering wasm, wasmtime allows only the guest's
            // stripe, which denies it anyway.)
            store.call_hook(|_, hook| {
                if matches!(hook, CallHook::ReturningFromWasm | CallHook::CallingHost) {
                    faasrt_isolation::reassert_secret_denials();
                }
                Ok(())
            });
        }
        let deadline = Instant::now() + timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::new(TimedOut))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Pre-initializes `wasm` (runs its `wizer-initialize` once and
    /// snapshots the result), as function `name`, within `memory_limit` and
    /// `time_limit`. During init there is no input (reading fd 0 is an
    /// error), no output (writing fd 1 is an error), and the log works.
    ///
    /// # Errors
    /// [`RuntimeError::PreinitFailed`] saying why.
    pub(crate) async fn preinitialize(
        &self,
        wasm: &[u8],
        name: &str,
        memory_limit: usize,
        time_limit: Duration,
    ) -> Result<Snapshot, RuntimeError> {
        let output = OutputCapture::new(0);
        let log = LogTail::new(self.log_tail_bytes);
        let setup = GuestSetup {
            args: vec![name.to_owned()],
            input: Faasin::Unavailable,
            output: Faasout::Capture(output.clone()),
            log: log.clone(),
            memory_limit,
        };
        let mut store = self.new_store(setup, time_limit);
        let linker = &self.linker;
        let result = faasrt_snapshots::preinitialize(&mut store, wasm, async |store, module| {
            linker.instantiate(store, module).await
        })
        .await;
        result.map_err(|error| {
            let mut reason = preinit_failure(&error, &output, time_limit);
            let log = log.text();
            if !log.trim().is_empty() {
                reason.push_str("; log: ");
                reason.push_str(log.trim_end());
            }
            RuntimeError::PreinitFailed { reason }
        })
    }

    /// Runs one invocation in a fresh instance and reports how it ended.
    ///
    /// Guest failures (trap, non-zero exit, timeout, output too large) are
    /// outcomes, not errors: they belong to this invocation only.
    pub(crate) async fn run(&self, prepared: &PreparedModule, request: RunRequest) -> Invocation {
        crate::thread_role::enter();
        let started = Instant::now();
        let output = OutputCapture::new(self.max_output_bytes);
        let log = LogTail::with_limit(self.log_tail_bytes, self.max_log_bytes);
        let setup = GuestSetup {
            args: request.args,
            input: request.input,
            output: match request.output {
                Some(writer) => Faasout::Pipe(writer),
                None => Faasout::Capture(output.clone()),
            },
            log: log.clone(),
            memory_limit: request.memory_limit,
        };
        let mut store = self.new_store(setup, request.timeout);
        let result = async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            match prepared.entry {
                Entry::Command => {
                    let start = instance.get_typed_func::<(), ()>(&mut store, ENTRY_POINT)?;
                    start.call_async(&mut store, ()).await.map(|()| 0)
                }
                Entry::Reactor {
                    initialize,
                    returns_status,
                } => {
                    if initialize {
                        let init =
                            instance.get_typed_func::<(), ()>(&mut store, REACTOR_INITIALIZE)?;
                        init.call_async(&mut store, ()).await?;
                    }
                    if returns_status {
                        let handle =
                            instance.get_typed_func::<(), i32>(&mut store, REACTOR_ENTRY)?;
                        handle.call_async(&mut store, ()).await
                    } else {
                        let handle =
                            instance.get_typed_func::<(), ()>(&mut store, REACTOR_ENTRY)?;
                        handle.call_async(&mut store, ()).await.map(|()| 0)
                    }
                }
            }
        }
        .await;
        let status = match result {
            Ok(code) => InvocationStatus::Exited(code),
            Err(error) => classify_failure(&error, &output, self.max_output_bytes, request.timeout),
        };
        // The instance's slot returns to the pool here, before the reply;
        // resetting it touches its memory from this thread.
        self.open_stripes_to_host();
        drop(store);
        Invocation {
            status,
            output: output.take(),
            log_tail: log.text(),
            duration: started.elapsed(),
        }
    }
}

/// Creates `module`'s copy-on-write memory image now (a sealed memfd of its
/// data), at deploy or load, instead of in its first invocation.
///
/// Sealing the memfd can fail with `EBUSY` for a moment (the kernel waits
/// only briefly for transient references to its pages; seen in the test
/// suite while native functions were being forked beside it), and wasmtime
/// reported that as a trap of whichever invocation came first. Here it is
/// retried a few times, and a lasting failure is a deploy error.
fn create_memory_image(module: &Module) -> Result<(), RuntimeError> {
    let mut attempt = 0;
    loop {
        match module.initialize_copy_on_write_image() {
            Ok(()) => return Ok(()),
            Err(_) if attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10 * attempt));
            }
            Err(error) => {
                return Err(RuntimeError::MemoryImage(error.into()));
            }
        }
    }
}

/// How invocations enter `module`: `_start` for a command, else `handle`
/// for a reactor.
fn entry_of(module: &Module, preinitialized: bool) -> Result<Entry, RuntimeError> {
    let func = |name: &str| match module.get_export(name) {
        Some(ExternType::Func(ty)) => Some(ty),
        _ => None,
    };
    if let Some(start) = func(ENTRY_POINT) {
        return if start.params().len() == 0 && start.results().len() == 0 {
            Ok(Entry::Command)
        } else {
            Err(RuntimeError::MissingEntryPoint)
        };
    }
    let Some(handle) = func(REACTOR_ENTRY) else {
        return Err(RuntimeError::MissingEntryPoint);
    };
    let results: Vec<_> = handle.results().collect();
    let returns_status = match results.as_slice() {
        [] => false,
        [wasmtime::ValType::I32] => true,
        _ => return Err(RuntimeError::MissingEntryPoint),
    };
    if handle.params().len() != 0 {
        return Err(RuntimeError::MissingEntryPoint);
    }
    let has_initialize = func(REACTOR_INITIALIZE)
        .is_some_and(|ty| ty.params().len() == 0 && ty.results().len() == 0);
    Ok(Entry::Reactor {
        initialize: has_initialize && !preinitialized,
        returns_status,
    })
}

/// Says in the user's words why pre-initialization failed.
fn preinit_failure(
    error: &wasmtime::Error,
    output: &OutputCapture,
    time_limit: Duration,
) -> String {
    if error.downcast_ref::<TimedOut>().is_some() {
        return format!(
            "pre-initialization ran past the deploy time limit of {} ms",
            time_limit.as_millis()
        );
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!(
            "the module called proc_exit({}) during pre-initialization; its init function must return",
            exit.0
        );
    }
    if error.downcast_ref::<InputUnavailable>().is_some() {
        return "reading faasin is not allowed during pre-initialization: there is no input at deploy".into();
    }
    if error.downcast_ref::<OutputTooLarge>().is_some() || output.overflowed() {
        return "writing to faasout is not allowed during pre-initialization (write to the log, fd 2)".into();
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("pre-initialization trapped: {trap}"),
        None => format!("pre-initialization failed: {}", error.root_cause()),
    }
}

/// Tells apart the ways an invocation can end with an error.
fn classify_failure(
    error: &wasmtime::Error,
    output: &OutputCapture,
    output_limit: usize,
    timeout: Duration,
) -> InvocationStatus {
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return InvocationStatus::Exited(exit.0);
    }
    if error.downcast_ref::<TimedOut>().is_some() {
        return InvocationStatus::TimedOut {
            limit_ms: timeout.as_millis() as u64,
        };
    }
    // WASI may wrap the stream's error, so the capture's own flag decides
    // for faasout; the log's refusal carries its own limit.
    if output.overflowed() {
        return InvocationStatus::OutputTooLarge {
            limit: output_limit,
        };
    }
    if let Some(too_large) = error.downcast_ref::<OutputTooLarge>() {
        return InvocationStatus::OutputTooLarge {
            limit: too_large.limit,
        };
    }
    let message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    InvocationStatus::Trapped {
        message,
        detail: format!("{error:?}"),
    }
}

impl Drop for FunctionEngine {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`].
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("faasrt-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread at start-up");
        EpochTicker { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread wakes within one tick; a panic in it is already reported.
        let _ = self.thread.join();
    }
}

/// Protection-key striping on a CPU that has keys: natively where the host
/// has `pku`, else in the QEMU VM of `scripts/test-pkeys`, where
/// `FAASRT_EXPECT_PKEYS=1` turns a skip into a failure.
#[cfg(test)]
mod pkeys_tests {
    use super::*;
    use std::sync::Mutex;
    use wasmtime::Linker;

    fn pkeys_expected() -> bool {
        std::env::var_os("FAASRT_EXPECT_PKEYS").is_some_and(|v| v == "1")
    }

    /// A guard-pages configuration small enough to stripe: 8 slots of at
    /// most 64 MiB.
    fn striped_config() -> Option<RuntimeConfig> {
        let config = RuntimeConfig::in_memory()
            .explicit_bounds_checks(false)
            .max_memory_mb(64)
            .max_instances(8);
        if MemoryLayout::of(&config).striped() {
            return Some(config);
        }
        assert!(!pkeys_expected(), "protection keys were expected here");
        eprintln!("skipped: no protection keys for wasmtime on this machine");
        None
    }

    fn setup() -> GuestSetup {
        GuestSetup {
            args: vec!["test".into()],
            input: Faasin::Unavailable,
            output: Faasout::Capture(OutputCapture::new(1024)),
            log: LogTail::new(1024),
            memory_limit: 64 << 20,
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio")
            .block_on(future)
    }

    #[test]
    fn pkeys_a_guest_cannot_reach_the_memories_of_other_stripes() {
        let Some(config) = striped_config() else {
            return;
        };
        let layout = MemoryLayout::of(&config);
        let engine = FunctionEngine::new(&config).expect("engine");
        let linker = Linker::<GuestState>::new(&engine.engine);
        let module = |text: &str| Module::new(&engine.engine, text).expect("module");
        let prober = module(
            r#"(module (memory 1)
                (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#,
        );
        // 64 MiB from the start: the whole of each neighbour's memory is
        // readable and writable, under its own stripe's key.
        let neighbour = module(r#"(module (memory 1024) (data (i32.const 0) "neighbour"))"#);
        block_on(async {
            let mut probe_store = engine.new_store(setup(), Duration::from_secs(10));
            let instance = linker
                .instantiate_async(&mut probe_store, &prober)
                .await
                .expect("prober");
            let mut neighbours = Vec::new();
            for _ in 1..config.get_max_instances() {
                let mut store = engine.new_store(setup(), Duration::from_secs(10));
                linker
                    .instantiate_async(&mut store, &neighbour)
                    .await
                    .expect("neighbour");
                neighbours.push(store);
            }
            let load = instance
                .get_typed_func::<i32, i32>(&mut probe_store, "load")
                .expect("load");
            assert_eq!(
                load.call_async(&mut probe_store, 0)
                    .await
                    .expect("own page"),
                0
            );
            // Every address past the prober's one page lies in its own
            // slot's inaccessible tail or in a neighbour's slot, which only
            // the neighbour's key opens: each load must trap.
            let mut addresses: Vec<u64> = (1..u64::from(config.get_max_instances()))
                .map(|k| k * layout.slot_bytes)
                .collect();
            addresses.extend([65_536, 64 << 20, (64 << 20) + 4096]);
            for address in addresses {
                let address = u32::try_from(address).expect("within 4 GiB") as i32;
                let result = load.call_async(&mut probe_store, address).await;
                let trap = result
                    .expect_err("a load outside the prober's memory succeeded")
                    .downcast::<wasmtime::Trap>()
                    .expect("a trap");
                assert_eq!(trap, wasmtime::Trap::MemoryOutOfBounds, "at {address:#x}");
            }
            drop(neighbours);
        });
    }

    #[test]
    fn pkeys_a_thread_older_than_the_striped_pool_runs_its_guests() {
        let Some(config) = striped_config() else {
            return;
        };
        // Like an async worker when the first guard-pages function builds
        // its engine: a thread started before the pool (and its keys)
        // existed, whose PKRU denies the stripes' keys.
        let (start, started) = std::sync::mpsc::channel::<Arc<FunctionEngine>>();
        let older = std::thread::spawn(move || {
            let engine = started.recv().expect("engine");
            block_on(async {
                // Pre-initialization reads the guest's memory from host code
                // to snapshot it; the invocation resets it when it ends.
                let snapshot = engine
                    .preinitialize(
                        &wat::parse_str(
                            r#"(module (memory (export "memory") 1)
                                (func (export "wizer-initialize")
                                    (i32.store (i32.const 16) (i32.const 7)))
                                (func (export "_start")
                                    (if (i32.ne (i32.load (i32.const 16)) (i32.const 7))
                                        (then unreachable))
                                    (drop (memory.grow (i32.const 1)))
                                    (i32.store (i32.const 70000) (i32.const 1))))"#,
                        )
                        .expect("wat"),
                        "older",
                        64 << 20,
                        Duration::from_secs(10),
                    )
                    .await
                    .expect("pre-initialized");
                let prepared = engine.compile(&snapshot.wasm, true).expect("compiled");
                let mut statuses = Vec::new();
                for _ in 0..3 {
                    let run = RunRequest {
                        args: vec!["older".into()],
                        input: Faasin::Unavailable,
                        output: None,
                        memory_limit: 64 << 20,
                        timeout: Duration::from_secs(10),
                    };
                    statuses.push(engine.run(&prepared, run).await.status);
                }
                statuses
            })
        });
        let engine = Arc::new(FunctionEngine::new(&config).expect("engine"));
        start.send(engine).expect("send");
        let statuses = older.join().expect("the older thread did not crash");
        assert_eq!(statuses, vec![InvocationStatus::Exited(0); 3]);
    }

    #[test]
    fn pkeys_the_secret_stays_denied_while_a_striped_guest_calls_the_host() {
        let Some(config) = striped_config() else {
            return;
        };
        let secret = faasrt_isolation::SecretRegion::new(b"s3cret").expect("secret region");
        let engine = FunctionEngine::new(&config).expect("engine");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut linker = Linker::<GuestState>::new(&engine.engine);
        let record = seen.clone();
        linker
            .func_wrap("test", "probe", move || {
                record
                    .lock()
                    .expect("lock")
                    .push(faasrt_isolation::secrets_denied_here());
            })
            .expect("probe");
        let module = Module::new(
            &engine.engine,
            r#"(module (import "test" "probe" (func $probe)) (memory 1)
                (func (export "_start")
                    (i32.store (i32.const 0) (i32.const 7)) (call $probe) (call $probe)))"#,
        )
        .expect("module");
        block_on(async {
            let mut store = engine.new_store(setup(), Duration::from_secs(10));
            let instance = linker
                .instantiate_async(&mut store, &module)
                .await
                .expect("instance");
            let start = instance
                .get_typed_func::<(), ()>(&mut store, ENTRY_POINT)
                .expect("_start");
            start.call_async(&mut store, ()).await.expect("run");
        });
        // wasmtime allowed every key when the guest called the host; the
        // call hook must have denied the secret's again each time.
        assert_eq!(*seen.lock().expect("lock"), vec![true, true]);
        assert!(faasrt_isolation::secrets_denied_here());
        assert_eq!(secret.read(|bytes| bytes.to_vec()), b"s3cret");
    }
}
