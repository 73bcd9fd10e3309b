//! The engines functions run on: one per bounds-check mode, because the
//! mode is part of wasmtime's configuration (code generation and the pool's
//! layout). The server's default mode gets its engine at start; the other
//! one is built the first time a function asks for it, so a server whose
//! functions all use the default reserves one pool only. Both pools share
//! the server-wide instance limit (the runtime's slot semaphore).

use crate::bounds_checks::BoundsChecks;
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::wasm::PreparedModule;
use crate::wasm::engine::FunctionEngine;
use faasrt_snapshots::EngineFingerprint;
use std::sync::{Arc, Mutex, OnceLock};

/// The runtime's engines, by bounds-check mode.
pub(crate) struct Engines {
    config: RuntimeConfig,
    explicit: OnceLock<Arc<FunctionEngine>>,
    guard_pages: OnceLock<Arc<FunctionEngine>>,
    /// Serializes building an engine, so two first users build one.
    building: Mutex<()>,
}

impl Engines {
    /// Builds the engine of `config`'s default mode.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidConfig`] or [`RuntimeError::EngineSetup`].
    pub(crate) fn new(config: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let engines = Engines {
            config: config.clone(),
            explicit: OnceLock::new(),
            guard_pages: OnceLock::new(),
            building: Mutex::new(()),
        };
        engines.get(config.get_bounds_checks())?;
        Ok(engines)
    }

    /// The server's default mode.
    pub(crate) fn default_mode(&self) -> BoundsChecks {
        self.config.get_bounds_checks()
    }

    /// The engine of `mode`, built now if no function used it before.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidConfig`] (its pool does not fit the address
    /// space left) or [`RuntimeError::EngineSetup`].
    pub(crate) fn get(&self, mode: BoundsChecks) -> Result<&FunctionEngine, RuntimeError> {
        let slot = self.slot(mode);
        if let Some(engine) = slot.get() {
            return Ok(engine);
        }
        let _building = self.building.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(engine) = slot.get() {
            return Ok(engine);
        }
        let config = self.config.clone().bounds_checks(mode);
        let engine = Arc::new(FunctionEngine::new(&config)?);
        tracing::info!(bounds_checks = %mode, "engine built");
        Ok(slot.get_or_init(|| engine))
    }

    /// The engine `prepared` was compiled by.
    pub(crate) fn of(&self, prepared: &PreparedModule) -> &FunctionEngine {
        self.slot(prepared.bounds_checks())
            .get()
            .expect("a prepared module's engine exists")
    }

    /// The fingerprints of the engines built so far: the artifacts worth
    /// keeping.
    pub(crate) fn fingerprints(&self) -> Vec<EngineFingerprint> {
        [&self.explicit, &self.guard_pages]
            .into_iter()
            .filter_map(|slot| slot.get().map(|e| e.fingerprint().clone()))
            .collect()
    }

    fn slot(&self, mode: BoundsChecks) -> &OnceLock<Arc<FunctionEngine>> {
        match mode {
            BoundsChecks::Explicit => &self.explicit,
            BoundsChecks::GuardPages => &self.guard_pages,
        }
    }
}
