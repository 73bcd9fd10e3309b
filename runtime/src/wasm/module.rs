//! A module compiled for the engine and linked against the host
//! ([`PreparedModule`]), how invocations enter it ([`Entry`]), and the
//! checks and preparation every compiled module goes through.

use crate::bounds_checks::BoundsChecks;
use crate::error::RuntimeError;
use faasrt_host_api::GuestState;
use std::time::Duration;
use wasmtime::{ExternType, InstancePre, Module};

/// The name of the entry point every function exports.
pub(crate) const ENTRY_POINT: &str = "_start";

/// The name of a reactor's per-invocation export.
pub(crate) const REACTOR_ENTRY: &str = "handle";

/// A reactor's own initialization export (WASI reactor ABI).
pub(super) const REACTOR_INITIALIZE: &str = "_initialize";

/// How an invocation enters a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A command: `_start: () -> ()`.
    Command,
    /// A reactor: `handle: () -> ()` or `() -> i32` (the status), after
    /// `_initialize` when the module was not pre-initialized (pre-init ran
    /// it already, and it must not run twice).
    Reactor {
        /// Whether `_initialize` runs first.
        initialize: bool,
        /// Whether `handle` returns the exit status.
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
    pub(super) pre: InstancePre<GuestState>,
    pub(super) entry: Entry,
    pub(super) bounds_checks: BoundsChecks,
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

/// Creates `module`'s copy-on-write memory image now (a sealed memfd of its
/// data), at deploy or load, instead of in its first invocation.
///
/// Sealing the memfd can fail with `EBUSY` for a moment (the kernel waits
/// only briefly for transient references to its pages; seen in the test
/// suite while native functions were being forked beside it), and wasmtime
/// reported that as a trap of whichever invocation came first. Here it is
/// retried a few times, and a lasting failure is a deploy error.
pub(super) fn create_memory_image(module: &Module) -> Result<(), RuntimeError> {
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
pub(super) fn entry_of(module: &Module, preinitialized: bool) -> Result<Entry, RuntimeError> {
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
