//! The wasmtime engine every function runs on: its configuration, and
//! compiling, validating and (de)serializing modules for it. Running a guest
//! on it is in `guest_run`, what a compiled module is in `module`.
//!
//! One `Engine` with the pooling instance allocator serves all functions, so
//! an invocation takes a pre-reserved slot instead of mapping memory, and
//! linear memories start as copy-on-write images of the module's data. Guest
//! code runs async on fibers: a guest that computes for long yields at each
//! epoch tick, so many invocations share a few threads fairly, and one that
//! runs past its timeout is interrupted at the next tick.

use super::epoch::EpochTicker;
use super::memory_layout::{MAX_STRIPE_KEYS, MemoryLayout};
use super::module::{PreparedModule, create_memory_image, entry_of};
use crate::bounds_checks::BoundsChecks;
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use faasrt_host_api::{HostLinker, ImportError};
use faasrt_snapshots::EngineFingerprint;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, Module, PoolingAllocationConfig,
};

/// How much of each slot's linear memory and table may stay resident between
/// instances when the kernel can tell dirty pages (`PAGEMAP_SCAN`). An
/// invocation from a snapshot dirties far less than this (all 30 examples
/// together: about 2.4 MiB); a pre-initialization (a Go runtime's init)
/// dirties up to tens of MiB, and at 16 MiB each slot a deploy had used kept
/// 16 MiB of zeroed pages resident for good (`faasrt-bench memory`).
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// The engine, the linker shared by all functions, and the epoch ticker.
pub(crate) struct FunctionEngine {
    pub(super) engine: Engine,
    pub(super) linker: HostLinker,
    pub(super) fingerprint: EngineFingerprint,
    pub(super) max_output_bytes: usize,
    pub(super) max_log_bytes: u64,
    pub(super) log_tail_bytes: usize,
    /// Guest memories are striped with protection keys, so wasmtime
    /// rewrites PKRU whenever a guest enters or leaves.
    pub(super) pkey_striping: bool,
    pub(super) bounds_checks: BoundsChecks,
    pub(super) ticker: Option<EpochTicker>,
}

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
    pub(super) fn open_stripes_to_host(&self) {
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
}

impl Drop for FunctionEngine {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}
