//! The thread that advances the engine's epoch: it bounds how late a
//! timeout fires and how long a computing guest keeps its thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::Engine;

/// How often the epoch advances. It bounds how late a timeout fires and how
/// long a computing guest keeps its thread before yielding to others.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// A thread that advances the engine's epoch every [`EPOCH_TICK`].
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch.
    pub(super) fn start(engine: Engine) -> Self {
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

    /// Stops the thread and waits for it.
    pub(super) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread wakes within one tick; a panic in it is already reported.
        let _ = self.thread.join();
    }
}
