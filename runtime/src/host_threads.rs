//! The host threads: where faasrt does what a guest's thread may not do.
//!
//! Compiling and pre-initializing modules, writing the store, forking
//! native functions and relaying spliced pipes all run here, never on the
//! threads that run guest code. Those carry the guest-thread seccomp role
//! (`thread_role.rs`: no executable memory, no exec, no fork), and Linux
//! gives a new thread its creator's filters. So a pool of threads for this
//! work is only sound if none of its threads is ever created by a guest
//! thread: tokio's own blocking pool creates its new threads on whichever
//! thread calls `spawn_blocking` (a guest thread, under load), which made
//! compiles and native spawns fail with `EPERM` once the pool grew.
//!
//! The host threads are a tokio runtime of their own: one worker thread,
//! started when the [`crate::Runtime`] is opened (before the server installs
//! any filter), and its blocking pool. Work is never handed to that pool
//! from the caller's thread: [`HostThreads::run`] spawns a task on the host
//! worker, and *that* thread asks for a blocking thread. Every host thread
//! is therefore created by the host worker, or by a host blocking thread,
//! however the pool grows, idles out and grows again. Each marks itself as
//! a host thread when it starts: the guest-thread role is never installed
//! on one (pre-initialization runs guest code here, under the runtime
//! filter only, as it always has), and a denied syscall on one is reported
//! under the `host` role.

use crate::error::RuntimeError;
use std::future::Future;
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime as TokioRuntime};

/// The name of every host thread (`/proc/<pid>/task/<tid>/comm`).
pub const HOST_THREAD_NAME: &str = "faasrt-host";

/// How long an idle host blocking thread waits for work before it exits
/// (tokio's default).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Most host blocking threads at once: compiles beyond that wait.
const MAX_BLOCKING_THREADS: usize = 512;

/// The host threads of one [`crate::Runtime`]. Dropping it stops them
/// without waiting for work in progress (it is dropped when the last clone
/// of the runtime goes, when nothing is waiting on it).
pub(crate) struct HostThreads {
    runtime: Option<TokioRuntime>,
    handle: Handle,
}

impl HostThreads {
    /// Starts the host worker thread; blocking threads come as work needs
    /// them and leave after `keep_alive` without any.
    ///
    /// # Errors
    /// [`RuntimeError::OnGuestThread`] when called on a thread that runs
    /// guest code (its filters would pass to every host thread);
    /// [`RuntimeError::HostThreads`] when the thread cannot be started.
    pub(crate) fn start(keep_alive: Duration) -> Result<Self, RuntimeError> {
        if crate::thread_role::entered() {
            return Err(RuntimeError::OnGuestThread);
        }
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .thread_keep_alive(keep_alive)
            .thread_name(HOST_THREAD_NAME)
            .on_thread_start(|| {
                crate::thread_role::become_host_thread();
            })
            .enable_all()
            .build()
            .map_err(RuntimeError::HostThreads)?;
        let handle = runtime.handle().clone();
        Ok(HostThreads {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Runs blocking or CPU-bound `work` on a host blocking thread and
    /// waits for it without blocking the caller's thread.
    ///
    /// # Errors
    /// [`RuntimeError::HostTaskFailed`] when `work` panicked.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RuntimeError> {
        // The blocking thread is asked for on the host worker, not here:
        // a thread that has to be created for it is created by the thread
        // that asks, and inherits that thread's seccomp filters.
        let asked = self
            .handle
            .spawn(async move { tokio::task::spawn_blocking(work).await });
        match asked.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) | Err(error) => Err(RuntimeError::HostTaskFailed(error)),
        }
    }

    /// Runs `task` on the host worker thread, for async work that belongs
    /// there (the splice relays between native stages).
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }
}

impl Drop for HostThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // A runtime may be dropped on an async thread, where waiting
            // for the host threads to finish is not allowed.
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thread_role::on_host_thread;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_on_a_host_thread_named_as_such() {
        let host = HostThreads::start(DEFAULT_KEEP_ALIVE).expect("start");
        let (is_host, name) = host
            .run(|| {
                (
                    on_host_thread(),
                    std::thread::current().name().map(str::to_owned),
                )
            })
            .await
            .expect("run");
        assert!(is_host);
        assert_eq!(name.as_deref(), Some(HOST_THREAD_NAME));
        assert!(!on_host_thread(), "the caller is not a host thread");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_host_work_is_an_error() {
        let host = HostThreads::start(DEFAULT_KEEP_ALIVE).expect("start");
        let outcome = host.run(|| panic!("boom")).await;
        assert!(matches!(outcome, Err(RuntimeError::HostTaskFailed(_))));
        // The pool survives it.
        assert_eq!(host.run(|| 7).await.expect("run"), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_threads_leave_and_new_ones_are_host_threads_too() {
        async fn burst(host: &HostThreads) -> Vec<Result<bool, RuntimeError>> {
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            futures::future::join_all((0..8).map(|_| {
                let barrier = barrier.clone();
                host.run(move || {
                    // All eight at once: the pool has to grow to eight.
                    barrier.wait();
                    on_host_thread()
                })
            }))
            .await
        }
        let host = HostThreads::start(Duration::from_millis(20)).expect("start");
        for _ in 0..3 {
            let all_host = burst(&host).await.into_iter().all(|r| r.expect("run"));
            assert!(all_host);
            // Long enough for every idle thread to leave.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[test]
    fn dropping_on_an_async_thread_does_not_panic() {
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        io.block_on(async {
            let host = HostThreads::start(DEFAULT_KEEP_ALIVE).expect("start");
            assert_eq!(host.run(|| 1).await.expect("run"), 1);
            drop(host);
        });
    }
}
