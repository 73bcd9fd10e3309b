//! The functions this process serves, by name, as compiled modules.
//!
//! Entries are `Arc`s swapped whole: a redeploy replaces the entry while
//! invocations in flight keep the old one until they finish.

use crate::error::RuntimeError;
use crate::function::FunctionInfo;
use crate::native::NativeExecutable;
use crate::wasm::PreparedModule;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What runs when a function is invoked.
pub(crate) enum Executable {
    /// A wasm module, compiled and linked.
    Wasm(PreparedModule),
    /// A native executable, in its sealed memfd.
    Native(NativeExecutable),
}

/// A deployed function, ready to run.
pub(crate) struct LoadedFunction {
    pub info: FunctionInfo,
    pub executable: Executable,
    /// Its name, shared by the journal's records of its invocations.
    pub journal_name: Arc<str>,
    /// Its own concurrency limit, if it has one.
    concurrency: Option<Arc<Semaphore>>,
    /// Its invocations and pipeline stages running now.
    in_flight: AtomicUsize,
}

/// Counts one run of a function as in flight while it lives.
pub(crate) struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LoadedFunction {
    pub(crate) fn new(info: FunctionInfo, executable: Executable) -> Self {
        let concurrency = info
            .limits
            .max_concurrency
            .map(|limit| Arc::new(Semaphore::new(limit as usize)));
        LoadedFunction {
            journal_name: Arc::from(info.name.as_str()),
            info,
            executable,
            concurrency,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Counts a run as in flight until the guard is dropped.
    pub(crate) fn running(&self) -> Running<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Running(&self.in_flight)
    }

    /// Its runs in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether it runs as a native child process.
    pub(crate) fn is_native(&self) -> bool {
        matches!(self.executable, Executable::Native(_))
    }

    /// How its invocations start, in the journal: `snapshot` (a
    /// pre-initialized wasm instance from the pool), `instance` (a wasm
    /// instance from the pool, no snapshot), `fork-exec` (a native process).
    pub(crate) fn start_kind(&self) -> &'static str {
        match (self.is_native(), self.info.snapshot_digest.is_some()) {
            (true, _) => "fork-exec",
            (false, true) => "snapshot",
            (false, false) => "instance",
        }
    }

    /// Takes one of the function's concurrency permits, if it is limited.
    ///
    /// # Errors
    /// [`RuntimeError::FunctionBusy`] when every permit is taken.
    pub(crate) fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, RuntimeError> {
        let Some(semaphore) = &self.concurrency else {
            return Ok(None);
        };
        semaphore
            .clone()
            .try_acquire_owned()
            .map(Some)
            .map_err(|_| self.busy())
    }

    /// [`LoadedFunction::admit`], waiting for a permit until `deadline`.
    ///
    /// # Errors
    /// [`RuntimeError::FunctionBusy`] when none came free by then.
    pub(crate) async fn admit_by(
        &self,
        deadline: std::time::Instant,
    ) -> Result<Option<OwnedSemaphorePermit>, RuntimeError> {
        let Some(semaphore) = &self.concurrency else {
            return Ok(None);
        };
        let waited = tokio::time::timeout_at(deadline.into(), semaphore.clone().acquire_owned());
        match waited.await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // Timed out (the semaphore is never closed).
            _ => Err(self.busy()),
        }
    }

    fn busy(&self) -> RuntimeError {
        RuntimeError::FunctionBusy {
            name: self.info.name.clone(),
            limit: self.info.limits.max_concurrency.unwrap_or(0),
        }
    }
}

/// Name → loaded function, and the names of functions still being
/// prepared (the examples a starting server deploys in the background).
#[derive(Default)]
pub(crate) struct Registry {
    functions: RwLock<BTreeMap<String, Arc<LoadedFunction>>>,
    preparing: RwLock<BTreeSet<String>>,
}

impl Registry {
    pub(crate) fn get(&self, name: &str) -> Option<Arc<LoadedFunction>> {
        self.read().get(name).cloned()
    }

    /// The function called `name`.
    ///
    /// # Errors
    /// [`RuntimeError::Preparing`] when it is not there yet but is being
    /// prepared, [`RuntimeError::NotFound`] when it is not there at all.
    pub(crate) fn lookup(&self, name: &str) -> Result<Arc<LoadedFunction>, RuntimeError> {
        self.get(name).ok_or_else(|| {
            let name = name.to_owned();
            if self.is_preparing(&name) {
                RuntimeError::Preparing { name }
            } else {
                RuntimeError::NotFound { name }
            }
        })
    }

    /// Marks `name` as being prepared, or no longer (`false`).
    pub(crate) fn set_preparing(&self, name: &str, preparing: bool) {
        let mut set = self.preparing.write().unwrap_or_else(|p| p.into_inner());
        if preparing {
            set.insert(name.to_owned());
        } else {
            set.remove(name);
        }
    }

    fn is_preparing(&self, name: &str) -> bool {
        self.preparing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }

    /// The names being prepared, in order.
    pub(crate) fn preparing(&self) -> Vec<String> {
        let set = self.preparing.read().unwrap_or_else(|p| p.into_inner());
        set.iter().cloned().collect()
    }

    pub(crate) fn insert(&self, function: LoadedFunction) {
        let name = function.info.name.clone();
        self.write().insert(name, Arc::new(function));
    }

    pub(crate) fn remove(&self, name: &str) -> Option<Arc<LoadedFunction>> {
        self.write().remove(name)
    }

    pub(crate) fn infos(&self) -> Vec<FunctionInfo> {
        self.read().values().map(|f| f.info.clone()).collect()
    }

    /// Every function served, in name order.
    pub(crate) fn functions(&self) -> Vec<Arc<LoadedFunction>> {
        self.read().values().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<LoadedFunction>>> {
        // Writers only insert or remove whole entries: a panic cannot leave
        // the map half updated, so a poisoned lock is safe to use.
        self.functions.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<LoadedFunction>>> {
        self.functions.write().unwrap_or_else(|p| p.into_inner())
    }
}
