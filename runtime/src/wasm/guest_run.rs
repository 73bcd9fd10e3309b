//! Running one guest on the engine: an invocation ([`FunctionEngine::run`])
//! or a pre-initialization ([`FunctionEngine::preinitialize`]), each in a
//! store of its own with a memory limit and an epoch deadline, and telling
//! apart the ways a run can end.

use super::engine::FunctionEngine;
use super::module::{ENTRY_POINT, Entry, PreparedModule, REACTOR_ENTRY, REACTOR_INITIALIZE};
use crate::error::RuntimeError;
use crate::invocation::{Invocation, InvocationStatus, InvocationUsage, RunRequest};
use faasrt_host_api::{
    Faasin, Faasout, GuestSetup, GuestState, InputUnavailable, KvAccess, LogTail, OutputCapture,
    OutputTooLarge,
};
use faasrt_snapshots::Snapshot;
use std::time::{Duration, Instant};
use wasmtime::{CallHook, Store, UpdateDeadline};

impl FunctionEngine {
    /// A store for one guest run (an invocation or a pre-initialization):
    /// memory limit, and an epoch deadline that yields at every tick and
    /// stops the guest with [`TimedOut`] after `timeout`.
    pub(super) fn new_store(&self, setup: GuestSetup, timeout: Duration) -> Store<GuestState> {
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
            // Pre-initialization belongs to no invocation: its snapshot must
            // not depend on state that changes after deploy.
            kv: KvAccess::Unavailable,
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
    pub(crate) async fn run(
        &self,
        prepared: &PreparedModule,
        request: RunRequest,
        kv: KvAccess,
    ) -> Invocation {
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
            kv,
        };
        let mut store = self.new_store(setup, request.timeout);
        let mut ready = None;
        let result = async {
            let instance = prepared.pre.instantiate_async(&mut store).await?;
            ready = Some(Instant::now());
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
        let peak_memory = store.data().peak_memory_bytes() as u64;
        drop(store);
        Invocation {
            status,
            output: output.take(),
            log_tail: log.text(),
            duration: started.elapsed(),
            usage: InvocationUsage {
                ready_after: ready.map_or(Duration::ZERO, |at| at - started),
                // Measured around this future by the caller.
                cpu: None,
                peak_memory_bytes: Some(peak_memory),
                // Counted around this future's polls, as its CPU time.
                hw: None,
            },
            seq: 0,
        }
    }
}

/// Invocation ended because its time ran out.
#[derive(Debug, thiserror::Error)]
#[error("invocation exceeded its timeout")]
struct TimedOut;

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
