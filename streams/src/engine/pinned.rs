//! Replicas pinned to CPUs: a thread of their own per replica, bound to
//! one CPU, that runs the replica's task on a current-thread tokio runtime
//! (a stage's `cpus`). The replica's invocations run on that thread too:
//! a wasm guest runs on the thread that invokes it.
//!
//! The thread ends with its task: when the task finishes or is aborted
//! (the run is torn down), the runtime's `block_on` returns and the thread
//! exits.

use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use std::future::Future;
use tokio::task::JoinHandle;

/// The CPUs this process may run on, in order.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU)
            .filter(|cpu| set.is_set(*cpu))
            .collect(),
        // Unknowable here: every CPU the machine reports.
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// The CPU the calling thread runs on now.
pub(crate) fn current_cpu() -> usize {
    sched_getcpu()
}

/// Why a pinned replica could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PinError {
    /// The thread could not be created.
    #[error("cannot create the thread of a replica pinned to CPU {cpu}: {source}")]
    Thread {
        /// The CPU.
        cpu: usize,
        /// Why.
        source: std::io::Error,
    },
    /// The thread could not be bound to its CPU, or its runtime not built.
    #[error("cannot pin a replica to CPU {cpu}: {reason}")]
    Pin {
        /// The CPU.
        cpu: usize,
        /// Why.
        reason: String,
    },
}

/// Runs `task` on a new thread named `name`, bound to `cpu`; returns the
/// task's handle (aborting it ends the thread) once the thread is pinned.
pub(crate) fn spawn_pinned(
    name: String,
    cpu: usize,
    task: impl Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<()>, PinError> {
    let (started, handle) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let mut set = CpuSet::new();
            set.set(cpu);
            if let Err(error) = sched_setaffinity(None, &set) {
                let _ = started.send(Err(error.to_string()));
                return;
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = started.send(Err(format!("its runtime: {error}")));
                    return;
                }
            };
            // Dropped when the task ends or is aborted, which ends the
            // wait below and with it the thread.
            let (alive, ended) = tokio::sync::oneshot::channel::<()>();
            let handle = runtime.spawn(async move {
                let _alive = alive;
                task.await;
            });
            if started.send(Ok(handle)).is_err() {
                return;
            }
            runtime.block_on(async {
                let _ = ended.await;
            });
        })
        .map_err(|source| PinError::Thread { cpu, source })?;
    match handle.recv() {
        Ok(Ok(handle)) => Ok(handle),
        Ok(Err(reason)) => Err(PinError::Pin { cpu, reason }),
        Err(_) => Err(PinError::Pin {
            cpu,
            reason: "its thread ended before it started".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pinned_task_runs_on_its_cpu_and_its_thread_ends_when_aborted() {
        let cpu = *allowed_cpus().last().expect("some CPU is allowed");
        let (report, seen) = tokio::sync::oneshot::channel();
        let handle = spawn_pinned("pinned-test".into(), cpu, async move {
            let _ = report.send((
                current_cpu(),
                std::thread::current().name().map(str::to_owned),
            ));
            std::future::pending::<()>().await;
        })
        .expect("spawned");
        let (ran_on, thread) = seen.await.expect("the task ran");
        assert_eq!(ran_on, cpu);
        assert_eq!(thread.as_deref(), Some("pinned-test"));
        handle.abort();
        assert!(handle.await.expect_err("aborted").is_cancelled());
    }

    #[test]
    fn a_cpu_outside_the_set_is_a_clear_error() {
        let error = spawn_pinned("pinned-bad".into(), CpuSet::MAX_CPU - 1, async {})
            .expect_err("no such CPU here");
        assert!(error.to_string().contains("cannot pin"), "{error}");
    }
}
