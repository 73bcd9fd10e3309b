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
use bytes::Bytes;
use faasrt_host_api::{
    GuestSetup, GuestState, HostLinker, ImportError, LogTail, OutputCapture, OutputTooLarge,
};
use faasrt_snapshots::EngineFingerprint;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::{
    Config, Enabled, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Module,
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

/// A function compiled and linked, ready to instantiate.
pub(crate) struct PreparedModule {
    pre: InstancePre<GuestState>,
}

impl PreparedModule {
    /// The compiled module.
    pub(crate) fn module(&self) -> &Module {
        self.pre.module()
    }
}

/// What one invocation runs with.
pub(crate) struct RunRequest {
    pub args: Vec<String>,
    pub input: Bytes,
    pub memory_limit: usize,
    pub timeout: Duration,
}

/// The engine, the linker shared by all functions, and the epoch ticker.
pub(crate) struct FunctionEngine {
    engine: Engine,
    linker: HostLinker,
    fingerprint: EngineFingerprint,
    max_output_bytes: usize,
    log_tail_bytes: usize,
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
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .memory_init_cow(true);
        let engine = Engine::new(&wasm).map_err(RuntimeError::engine)?;
        let linker = HostLinker::new(&engine).map_err(RuntimeError::engine)?;
        let fingerprint = EngineFingerprint::of(&engine);
        let ticker = Some(EpochTicker::start(engine.clone()));
        Ok(FunctionEngine {
            engine,
            linker,
            fingerprint,
            max_output_bytes: config.get_max_output_bytes(),
            log_tail_bytes: config.get_log_tail_bytes(),
            ticker,
        })
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
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<PreparedModule, RuntimeError> {
        let module =
            Module::from_binary(&self.engine, bytes).map_err(|e| RuntimeError::InvalidModule {
                reason: format!("{e:#}"),
            })?;
        self.prepare(module)
    }

    /// Loads a precompiled artifact produced by [`FunctionEngine::serialize`].
    ///
    /// # Errors
    /// [`RuntimeError::Engine`] when wasmtime refuses the artifact (another
    /// wasmtime version or configuration); the caller recompiles then.
    pub(crate) fn deserialize(&self, artifact: &[u8]) -> Result<PreparedModule, RuntimeError> {
        // SAFETY: wasmtime requires that the bytes come from
        // `Module::serialize` of a compatible engine and were not tampered
        // with. faasrt only stores artifacts it serialized itself, under a key
        // that includes this engine's fingerprint, sealed with a SHA-256
        // checksum that the caller verified (`faasrt_snapshots::unseal`);
        // wasmtime itself also checks the version and configuration header.
        let module = unsafe { Module::deserialize(&self.engine, artifact) }
            .map_err(|e| RuntimeError::engine(format!("{e:#}")))?;
        self.prepare(module)
    }

    /// Serializes a compiled module into a precompiled artifact.
    pub(crate) fn serialize(&self, prepared: &PreparedModule) -> Result<Vec<u8>, RuntimeError> {
        prepared.module().serialize().map_err(RuntimeError::engine)
    }

    fn prepare(&self, module: Module) -> Result<PreparedModule, RuntimeError> {
        match module.get_export(ENTRY_POINT) {
            Some(ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0 => {}
            _ => return Err(RuntimeError::MissingEntryPoint),
        }
        let pre = self.linker.pre_instantiate(&module).map_err(|e| match e {
            ImportError::Unknown { names } => RuntimeError::UnknownImports { names },
            ImportError::Mismatch(reason) => RuntimeError::InvalidModule { reason },
        })?;
        Ok(PreparedModule { pre })
    }

    /// Runs one invocation in a fresh instance and reports how it ended.
    ///
    /// Guest failures (trap, non-zero exit, timeout, output too large) are
    /// outcomes, not errors: they belong to this invocation only.
    pub(crate) async fn run(&self, prepared: &PreparedModule, request: RunRequest) -> Invocation {
        let started = Instant::now();
        let output = OutputCapture::new(self.max_output_bytes);
        let log = LogTail::new(self.log_tail_bytes);
        let mut store = Store::new(
            &self.engine,
            GuestState::new(GuestSetup {
                args: request.args,
                input: request.input,
                output: output.clone(),
                log: log.clone(),
                memory_limit: request.memory_limit,
            }),
        );
        store.limiter(|state| state.limiter());
        let deadline = started + request.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::new(TimedOut))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let result = async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            let entry = instance.get_typed_func::<(), ()>(&mut store, ENTRY_POINT)?;
            entry.call_async(&mut store, ()).await
        }
        .await;
        let status = match result {
            Ok(()) => InvocationStatus::Exited(0),
            Err(error) => classify_failure(&error, &output, self.max_output_bytes, request.timeout),
        };
        // The instance's slot returns to the pool here, before the reply.
        drop(store);
        Invocation {
            status,
            output: output.take(),
            log_tail: log.text(),
            duration: started.elapsed(),
        }
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
    // WASI may wrap the stream's error, so the capture's own flag decides.
    if error.downcast_ref::<OutputTooLarge>().is_some() || output.overflowed() {
        return InvocationStatus::OutputTooLarge {
            limit: output_limit,
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
