//! The threads that execute guest code, apart from the server's async
//! threads.
//!
//! Guests run as async tasks on their own multi-threaded tokio runtime: a
//! guest blocked on I/O yields its fiber, a computing guest yields at each
//! epoch tick, so a few threads serve many invocations, and the server's
//! threads stay free to accept and answer requests. Keeping guest code on
//! threads of its own also gives them a role of their own for seccomp.

use crate::error::RuntimeError;
use std::future::Future;

/// A tokio runtime dedicated to guest code and compilation.
pub(crate) struct WorkerPool {
    runtime: Option<tokio::runtime::Runtime>,
}

impl WorkerPool {
    pub(crate) fn new(threads: usize) -> Result<Self, RuntimeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("faasrt-worker")
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::engine(format!("cannot start worker threads: {e}")))?;
        Ok(WorkerPool {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the worker runtime lives until drop")
            .handle()
    }

    /// Runs `task` on a worker thread and waits for it from any executor.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, RuntimeError> {
        self.handle()
            .spawn(task)
            .await
            .map_err(|e| RuntimeError::engine(format!("invocation task failed: {e}")))
    }

    /// Runs CPU-bound or blocking `work` (compilation, store commits) on
    /// the worker runtime's blocking threads.
    pub(crate) async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RuntimeError> {
        self.handle()
            .spawn_blocking(work)
            .await
            .map_err(|e| RuntimeError::engine(format!("background task failed: {e}")))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // Dropping a tokio runtime from inside another one panics; shutting
        // it down in the background is allowed anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
