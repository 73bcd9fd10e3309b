//! Runtime configuration: a builder with defaults that suit one host.

use crate::limits::FunctionLimits;
use std::path::{Path, PathBuf};

/// How a [`crate::Runtime`] is set up.
///
/// ```
/// use faasrt_runtime::RuntimeConfig;
/// let config = RuntimeConfig::new("./.faasrt").max_instances(64);
/// assert_eq!(config.get_max_instances(), 64);
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    data_dir: Option<PathBuf>,
    max_module_bytes: usize,
    max_input_bytes: usize,
    max_output_bytes: usize,
    log_tail_bytes: usize,
    max_instances: u32,
    default_limits: FunctionLimits,
    max_memory_mb: u32,
    max_timeout_ms: u64,
    max_preinit_ms: u64,
    pooling: bool,
    pipe_capacity: usize,
    max_log_bytes: u64,
    explicit_bounds_checks: bool,
    memory_protection_keys: bool,
    host_thread_keep_alive: std::time::Duration,
    slot_wait: std::time::Duration,
    hw_counters: bool,
}

impl RuntimeConfig {
    /// A configuration that keeps its store in `data_dir`.
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        RuntimeConfig {
            data_dir: Some(data_dir.as_ref().to_owned()),
            ..Self::in_memory()
        }
    }

    /// A configuration whose store lives in memory and is lost on drop
    /// (`faasrt run`, tests, benchmarks).
    pub fn in_memory() -> Self {
        RuntimeConfig {
            data_dir: None,
            max_module_bytes: 64 << 20,
            max_input_bytes: 64 << 20,
            max_output_bytes: 64 << 20,
            log_tail_bytes: 4096,
            max_instances: 256,
            default_limits: FunctionLimits::default(),
            max_memory_mb: 4096,
            max_timeout_ms: 15 * 60 * 1000,
            max_preinit_ms: 10_000,
            pooling: true,
            pipe_capacity: faasrt_host_api::DEFAULT_PIPE_CAPACITY,
            max_log_bytes: 16 << 20,
            explicit_bounds_checks: true,
            memory_protection_keys: true,
            host_thread_keep_alive: crate::host_threads::DEFAULT_KEEP_ALIVE,
            slot_wait: std::time::Duration::ZERO,
            hw_counters: false,
        }
    }

    /// Largest module accepted at deploy, in bytes (default 64 MiB).
    pub fn max_module_bytes(mut self, bytes: usize) -> Self {
        self.max_module_bytes = bytes;
        self
    }

    /// Largest invocation input, in bytes (default 64 MiB).
    pub fn max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }

    /// Largest invocation output (`faasout`), in bytes (default 64 MiB).
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// How much of each invocation's log is kept for errors (default 4 KiB).
    pub fn log_tail_bytes(mut self, bytes: usize) -> Self {
        self.log_tail_bytes = bytes;
        self
    }

    /// Instance slots in the pooling allocator: the most invocations that run
    /// at once (default 256, at least 1). Each slot reserves address space,
    /// not memory.
    pub fn max_instances(mut self, slots: u32) -> Self {
        self.max_instances = slots;
        self
    }

    /// Limits for functions deployed without their own.
    pub fn default_limits(mut self, limits: FunctionLimits) -> Self {
        self.default_limits = limits;
        self
    }

    /// The largest memory limit a function may ask for, in MiB (default 4096).
    pub fn max_memory_mb(mut self, mb: u32) -> Self {
        self.max_memory_mb = mb;
        self
    }

    /// The largest timeout a function may ask for, in ms (default 15 min).
    pub fn max_timeout_ms(mut self, ms: u64) -> Self {
        self.max_timeout_ms = ms;
        self
    }

    /// How long pre-initialization may run at deploy, in ms (default 10 s,
    /// at least 1).
    pub fn max_preinit_ms(mut self, ms: u64) -> Self {
        self.max_preinit_ms = ms;
        self
    }

    /// Whether instances come from the pooling allocator (default) or are
    /// allocated on demand (slower; for comparison in benchmarks).
    pub fn pooling(mut self, enabled: bool) -> Self {
        self.pooling = enabled;
        self
    }

    /// Capacity of each pipe between pipeline stages, in bytes (default
    /// 64 KiB, at least 1): a producer waits when its pipe holds this much.
    pub fn pipe_capacity(mut self, bytes: usize) -> Self {
        self.pipe_capacity = bytes;
        self
    }

    /// The most a function may write to its log (fd 2 and `faasrt::log`)
    /// in one invocation, in bytes (default 16 MiB); past it the invocation
    /// ends with `output_too_large`. Only the last `log_tail_bytes` are kept.
    pub fn max_log_bytes(mut self, bytes: u64) -> Self {
        self.max_log_bytes = bytes;
        self
    }

    /// Whether wasm code checks its memory bounds explicitly (the default)
    /// instead of relying on guard pages and signals.
    ///
    /// With guard pages, every instance whose memory grew leaves its slot
    /// with pages that the next instance must make inaccessible again: an
    /// `mprotect` under the process's memory-map lock and a TLB shoot-down
    /// that interrupts every core running a faasrt thread. Explicit checks
    /// need no protection change, so invocations start faster and scale
    /// across cores; compute-heavy code pays for the checks. The figures
    /// of both sides are in docs/benchmarks.md (invoke, isolation) and
    /// docs/decisions.md ("Explicit bounds checks by default").
    pub fn explicit_bounds_checks(mut self, explicit: bool) -> Self {
        self.explicit_bounds_checks = explicit;
        self
    }

    /// Whether the pooling allocator may stripe guest memories with memory
    /// protection keys where the CPU has them (default: yes). Striping only
    /// applies with guard pages (`explicit_bounds_checks(false)`): it lets
    /// neighbouring slots of other keys serve as each other's guard regions.
    pub fn memory_protection_keys(mut self, enabled: bool) -> Self {
        self.memory_protection_keys = enabled;
        self
    }

    /// See [`RuntimeConfig::memory_protection_keys`].
    pub fn get_memory_protection_keys(&self) -> bool {
        self.memory_protection_keys
    }

    /// See [`RuntimeConfig::explicit_bounds_checks`].
    pub fn get_explicit_bounds_checks(&self) -> bool {
        self.explicit_bounds_checks
    }

    /// The bounds-check mode of functions deployed without one of their
    /// own: [`RuntimeConfig::explicit_bounds_checks`] as a
    /// [`BoundsChecks`](crate::BoundsChecks).
    pub fn bounds_checks(self, mode: crate::BoundsChecks) -> Self {
        self.explicit_bounds_checks(mode == crate::BoundsChecks::Explicit)
    }

    /// See [`RuntimeConfig::bounds_checks`].
    pub fn get_bounds_checks(&self) -> crate::BoundsChecks {
        if self.explicit_bounds_checks {
            crate::BoundsChecks::Explicit
        } else {
            crate::BoundsChecks::GuardPages
        }
    }

    /// See [`RuntimeConfig::max_log_bytes`].
    pub fn get_max_log_bytes(&self) -> u64 {
        self.max_log_bytes
    }

    /// See [`RuntimeConfig::pipe_capacity`].
    pub fn get_pipe_capacity(&self) -> usize {
        self.pipe_capacity
    }

    /// See [`RuntimeConfig::max_preinit_ms`].
    pub fn get_max_preinit_ms(&self) -> u64 {
        self.max_preinit_ms
    }

    /// See [`RuntimeConfig::pooling`].
    pub fn get_pooling(&self) -> bool {
        self.pooling
    }

    /// Checks every setting once, as [`crate::Runtime::open`] does before
    /// anything is built: a value that cannot work is refused, never
    /// clamped.
    ///
    /// # Errors
    /// [`crate::RuntimeError::InvalidConfig`] naming the setting (and the
    /// `faasrt serve` flag that sets it).
    pub fn validate(&self) -> Result<(), crate::RuntimeError> {
        let at_least_one = [
            (
                "max_instances",
                "--max-instances",
                self.max_instances as u64,
            ),
            (
                "max_memory_mb",
                "--max-memory",
                u64::from(self.max_memory_mb),
            ),
            ("max_timeout_ms", "--max-timeout", self.max_timeout_ms),
            ("max_preinit_ms", "--max-preinit", self.max_preinit_ms),
            ("pipe_capacity", "(no flag)", self.pipe_capacity as u64),
            (
                "max_module_bytes",
                "--max-body",
                self.max_module_bytes as u64,
            ),
            (
                "default memory_mb",
                "--default-memory",
                u64::from(self.default_limits.memory_mb),
            ),
            (
                "default timeout_ms",
                "--default-timeout",
                self.default_limits.timeout_ms,
            ),
        ];
        for (setting, flag, value) in at_least_one {
            if value == 0 {
                return Err(crate::RuntimeError::InvalidConfig(format!(
                    "{setting} is 0 ({flag}): it must be at least 1"
                )));
            }
        }
        Ok(())
    }

    /// How long an idle host thread (compilation, store writes, native
    /// spawns) waits for work before it exits; default 10 s. New ones are
    /// started as work needs them, always by another host thread.
    pub fn host_thread_keep_alive(mut self, keep_alive: std::time::Duration) -> Self {
        self.host_thread_keep_alive = keep_alive;
        self
    }

    /// See [`RuntimeConfig::host_thread_keep_alive`].
    pub fn get_host_thread_keep_alive(&self) -> std::time::Duration {
        self.host_thread_keep_alive
    }

    /// How long an invocation may wait for a free instance slot and for
    /// its function's concurrency permit before it is refused
    /// ([`crate::RuntimeError::Busy`], [`crate::RuntimeError::FunctionBusy`]);
    /// default zero: refused at once. Waiters are served first come, first
    /// served. Pipelines never wait: they reserve every stage's slot at
    /// once, or are refused.
    pub fn slot_wait(mut self, wait: std::time::Duration) -> Self {
        self.slot_wait = wait;
        self
    }

    /// See [`RuntimeConfig::slot_wait`].
    pub fn get_slot_wait(&self) -> std::time::Duration {
        self.slot_wait
    }

    /// Whether each invocation and pipeline stage counts CPU cycles,
    /// instructions and LLC misses with hardware counters (default: no).
    /// Where this machine refuses them, the journal's counts are null and
    /// `faasrt doctor` says why. With `faasrt serve`'s seccomp filter on,
    /// it lets the server's threads (never native functions) call
    /// `perf_event_open`.
    pub fn hw_counters(mut self, enabled: bool) -> Self {
        self.hw_counters = enabled;
        self
    }

    /// See [`RuntimeConfig::hw_counters`].
    pub fn get_hw_counters(&self) -> bool {
        self.hw_counters
    }

    /// The syscalls that the server's seccomp filter must let through for
    /// this configuration (`perf_event_open` with hardware counters on),
    /// for [`crate::install_server_seccomp_allowing`].
    pub fn seccomp_allowances(&self) -> &'static [faasrt_isolation::Sysno] {
        if self.hw_counters {
            &[faasrt_isolation::Sysno::perf_event_open]
        } else {
            &[]
        }
    }

    /// The data directory, or `None` for an in-memory store.
    pub fn get_data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// See [`RuntimeConfig::max_module_bytes`].
    pub fn get_max_module_bytes(&self) -> usize {
        self.max_module_bytes
    }

    /// See [`RuntimeConfig::max_input_bytes`].
    pub fn get_max_input_bytes(&self) -> usize {
        self.max_input_bytes
    }

    /// See [`RuntimeConfig::max_output_bytes`].
    pub fn get_max_output_bytes(&self) -> usize {
        self.max_output_bytes
    }

    /// See [`RuntimeConfig::log_tail_bytes`].
    pub fn get_log_tail_bytes(&self) -> usize {
        self.log_tail_bytes
    }

    /// See [`RuntimeConfig::max_instances`].
    pub fn get_max_instances(&self) -> u32 {
        self.max_instances
    }

    /// See [`RuntimeConfig::default_limits`].
    pub fn get_default_limits(&self) -> FunctionLimits {
        self.default_limits
    }

    /// See [`RuntimeConfig::max_memory_mb`].
    pub fn get_max_memory_mb(&self) -> u32 {
        self.max_memory_mb
    }

    /// See [`RuntimeConfig::max_timeout_ms`].
    pub fn get_max_timeout_ms(&self) -> u64 {
        self.max_timeout_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(RuntimeConfig::in_memory().validate().is_ok());
    }

    #[test]
    fn a_zero_is_refused_with_its_setting_and_flag_not_clamped() {
        for (config, words) in [
            (
                RuntimeConfig::in_memory().max_instances(0),
                "max_instances is 0 (--max-instances)",
            ),
            (
                RuntimeConfig::in_memory().max_preinit_ms(0),
                "max_preinit_ms is 0 (--max-preinit)",
            ),
            (
                RuntimeConfig::in_memory().pipe_capacity(0),
                "pipe_capacity is 0",
            ),
            (
                RuntimeConfig::in_memory().max_memory_mb(0),
                "max_memory_mb is 0 (--max-memory)",
            ),
        ] {
            match config.validate() {
                Err(crate::RuntimeError::InvalidConfig(message)) => {
                    assert!(message.contains(words), "{message}")
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }

    #[test]
    fn hardware_counters_need_perf_event_open_let_through_the_filter() {
        assert!(RuntimeConfig::in_memory().seccomp_allowances().is_empty());
        assert_eq!(
            RuntimeConfig::in_memory()
                .hw_counters(true)
                .seccomp_allowances(),
            &[faasrt_isolation::Sysno::perf_event_open]
        );
    }

    #[test]
    fn a_runtime_with_an_invalid_configuration_does_not_open() {
        let opened = crate::Runtime::open(RuntimeConfig::in_memory().max_instances(0));
        assert!(matches!(opened, Err(crate::RuntimeError::InvalidConfig(_))));
    }
}
