//! The in-process pipes of running pipelines, so the sampler can say how
//! many there are and how many bytes sit in them. A run registers its
//! pipes' counters when it starts and is forgotten when its guard drops.

use faasrt_host_api::PipeCounter;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every running pipeline's pipes.
#[derive(Default)]
pub(crate) struct LivePipes {
    next: AtomicU64,
    runs: Mutex<HashMap<u64, Vec<PipeCounter>>>,
}

/// Keeps one run's pipes registered while it lives.
pub(crate) struct LiveRun<'a> {
    pipes: &'a LivePipes,
    id: u64,
}

impl LivePipes {
    /// Registers the pipes of a run that starts now.
    pub(crate) fn register(&self, counters: Vec<PipeCounter>) -> LiveRun<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, counters);
        LiveRun { pipes: self, id }
    }

    /// The pipes registered now, and the bytes written into them and not
    /// yet read.
    pub(crate) fn occupancy(&self) -> (usize, u64) {
        let runs = self.lock();
        runs.values()
            .flatten()
            .fold((0, 0), |(count, bytes), pipe| {
                (
                    count + 1,
                    bytes + pipe.written().saturating_sub(pipe.read()),
                )
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<PipeCounter>>> {
        self.runs
            .lock()
            .expect("the live pipes' lock is never poisoned")
    }
}

impl Drop for LiveRun<'_> {
    fn drop(&mut self) {
        self.pipes.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_buffered_bytes_count_until_it_ends() {
        let pipes = LivePipes::default();
        let (writer, reader) = faasrt_host_api::pipe(1 << 16);
        let run = pipes.register(vec![reader.counter()]);
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        io.block_on(writer.write_all(bytes::Bytes::from_static(b"hello")))
            .unwrap();
        assert_eq!(pipes.occupancy(), (1, 5));
        drop(run);
        assert_eq!(pipes.occupancy(), (0, 0));
        drop((writer, reader));
    }
}
