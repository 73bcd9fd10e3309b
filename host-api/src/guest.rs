//! Per-invocation guest state: the WASI context, resource limits and log.

use crate::guest_pipe::GuestPipe;
use crate::kv::KvAccess;
use crate::stdio::{Faasin, Faasout, LogTail, UnavailableInput};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;

/// What one invocation gets: its arguments, `faasin`, where `faasout` and the
/// log go, and its memory limit.
pub struct GuestSetup {
    /// `argv`: the function name first, then the invocation's arguments.
    pub args: Vec<String>,
    /// What the function reads from fd 0.
    pub input: Faasin,
    /// Receives fd 1.
    pub output: Faasout,
    /// Receives fd 2 and `faasrt::log`.
    pub log: LogTail,
    /// The most linear memory (in bytes) the instance may grow to.
    pub memory_limit: usize,
    /// Its function's key-value state, if it has any.
    pub kv: KvAccess,
}

/// The data a wasmtime `Store` carries for one invocation.
pub struct GuestState {
    wasi: WasiP1Ctx,
    limits: PeakTrackingLimits,
    log: LogTail,
    kv: KvAccess,
}

impl GuestState {
    /// Builds the state of one invocation from `setup`.
    ///
    /// The guest sees no environment variables and no preopened directories:
    /// nothing of the host leaks in unless it is given here.
    pub fn new(setup: GuestSetup) -> Self {
        let mut wasi = WasiCtxBuilder::new();
        wasi.args(&setup.args).stderr(setup.log.clone());
        match setup.input {
            Faasin::Bytes(bytes) => wasi.stdin(MemoryInputPipe::new(bytes)),
            Faasin::Unavailable => wasi.stdin(UnavailableInput),
            Faasin::Pipe(reader) => wasi.stdin(GuestPipe::new(reader)),
        };
        match setup.output {
            Faasout::Capture(capture) => wasi.stdout(capture),
            Faasout::Pipe(writer) => wasi.stdout(GuestPipe::new(writer)),
        };
        let wasi = wasi.build_p1();
        // Growth past the limit makes `memory.grow` return -1 inside the
        // guest (its allocator reports out-of-memory); the host never traps
        // or allocates on its behalf.
        let limits = StoreLimitsBuilder::new()
            .memory_size(setup.memory_limit)
            .trap_on_grow_failure(false)
            .build();
        GuestState {
            wasi,
            limits: PeakTrackingLimits { limits, peak: 0 },
            log: setup.log,
            kv: setup.kv,
        }
    }

    /// The WASI preview-1 context, for the linker's projections.
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    /// The resource limiter to install with `Store::limiter`.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    /// The largest its linear memories have been, together, in bytes: a
    /// memory only grows, so this is every memory's size at its largest.
    pub fn peak_memory_bytes(&self) -> usize {
        self.limits.peak
    }

    /// The function's log.
    pub fn log(&self) -> &LogTail {
        &self.log
    }

    /// The invocation's key-value state.
    pub fn kv(&self) -> &KvAccess {
        &self.kv
    }
}

/// The store's limits, and the most linear memory they allowed.
struct PeakTrackingLimits {
    limits: StoreLimits,
    /// Bytes of every memory granted so far (each memory's latest size).
    peak: usize,
}

impl ResourceLimiter for PeakTrackingLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted {
            self.peak = self.peak.saturating_sub(current) + desired;
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
