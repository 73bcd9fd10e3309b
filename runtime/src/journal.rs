//! The invocation journal: one record per invocation, taken from one
//! monotonic clock, kept in a bounded ring for `GET /v1/invocations` and
//! sent to live followers. Recording never waits: the ring drops its
//! oldest record, and a follower that falls behind loses records (counted)
//! rather than slowing invocations.

use crate::live_feed::{FEED_CAPACITY, Follower, LiveFeed};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Records the ring keeps.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One invocation as the runtime saw it. Times are nanoseconds on the
/// runtime's monotonic clock, from when it was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvocationRecord {
    /// Its place in the journal: 1, 2, ... for the life of the runtime.
    pub seq: u64,
    /// The function.
    #[serde(serialize_with = "as_str")]
    pub function: Arc<str>,
    /// `wasm` or `native`.
    pub kind: &'static str,
    /// How its instance started: `snapshot` (a pre-initialized wasm
    /// instance from the pool), `instance` (a wasm instance from the pool,
    /// no snapshot), `fork-exec` (a native process).
    pub start_kind: &'static str,
    /// When the request reached the runtime.
    pub arrival_ns: u64,
    /// When it was admitted: had its function's concurrency permit and an
    /// instance slot. Equal to `arrival_ns` when both were free at once;
    /// later only when it waited in line for them
    /// ([`crate::RuntimeConfig::slot_wait`]). A pipeline's stages never
    /// wait: theirs is their arrival.
    pub dequeue_ns: u64,
    /// When it began to run (its arguments and input set up).
    pub start_ns: u64,
    /// When its instance (wasm) or process (native) was ready to run its
    /// code.
    pub ready_ns: u64,
    /// When it ended: its run was over, its instance returned to the pool
    /// or its processes gone, its output collected and its key-value
    /// writes committed.
    pub end_ns: u64,
    /// When the runtime handed its result back to its caller (the server,
    /// which then writes the answer): after its metrics were counted, just
    /// before this record was kept. For a pipeline stage, when the whole
    /// run's result was handed back (every stage and relay done).
    pub reply_ns: u64,
    /// How it ended (`ok`, `exit`, `trap`, `timeout`, `output_too_large`,
    /// ...: the `outcome` label of the metrics).
    pub outcome: &'static str,
    /// Its exit code (the conventional code for a trap or a timeout).
    pub exit_code: i32,
    /// Bytes of input.
    pub input_bytes: u64,
    /// Bytes of output.
    pub output_bytes: u64,
    /// Its CPU time in nanoseconds ([`crate::InvocationUsage::cpu`]), or
    /// null when not measured.
    pub cpu_ns: Option<u64>,
    /// The most memory it held, in bytes
    /// ([`crate::InvocationUsage::peak_memory_bytes`]), or null.
    pub peak_memory_bytes: Option<u64>,
    /// CPU cycles it took in user space ([`crate::HwCounts`]), or null:
    /// hardware counters off (`--hw-counters`), refused by this machine
    /// (`faasrt doctor` says why) or not readable for this run.
    pub cycles: Option<u64>,
    /// Instructions it retired in user space, or null as `cycles`.
    pub instructions: Option<u64>,
    /// Its (last-level) cache misses in user space, or null as `cycles`.
    pub llc_misses: Option<u64>,
    /// For a pipeline stage: which run and stage it was; absent for an
    /// invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageRecord>,
    /// The trace id of the caller's `traceparent`, if it sent one (32 hex
    /// digits in JSON).
    #[serde(serialize_with = "trace_hex", skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::TraceContext>,
}

/// Where a pipeline stage sat in its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StageRecord {
    /// The run: the `seq` of its first stage's record (a run's stages are
    /// recorded together, with consecutive numbers).
    pub run: u64,
    /// Its position, counted from 0.
    pub index: usize,
    /// How many stages the run had.
    pub stages: usize,
    /// What fed its faasin: `caller` (the pipeline's input, for the first
    /// stage), `pipe` (faasrt's in-process pipe) or `splice` (an OS pipe
    /// between two native stages, moved by the kernel).
    pub input_edge: &'static str,
    /// Where its faasout went: `caller` (the pipeline's output, for the
    /// last stage), `pipe` or `splice`.
    pub output_edge: &'static str,
    /// Nanoseconds it waited for input on an empty faasin. On a pipe
    /// (`caller` or `pipe`): the time its reads waited for bytes or EOF;
    /// a native stage's bridge reads for it, so this is the time the
    /// bridge waited (the child may still have been reading what its
    /// OS pipe held). On a `splice` edge: the time the relay waited for
    /// data from upstream; the child's own wait in `read(2)` is not
    /// visible to faasrt.
    pub blocked_read_ns: u64,
    /// Nanoseconds it waited for room on a full faasout: on a pipe, the
    /// time its writes (a native stage's bridge's) waited for the reader;
    /// on a `splice` edge, the time the relay waited for room downstream.
    pub blocked_write_ns: u64,
}

fn trace_hex<S: serde::Serializer>(
    trace: &Option<crate::TraceContext>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match trace {
        Some(context) => serializer.serialize_str(&context.trace_id_hex()),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn as_str<S: serde::Serializer>(
    text: &Arc<str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// What the runtime has recorded, and its live followers.
///
/// Recording is on every invocation's path, so it allocates nothing: the
/// ring is allocated once, the function's name is shared, and the feed is
/// sent to only while someone follows it.
pub(crate) struct Journal {
    epoch: Instant,
    next_seq: AtomicU64,
    ring: Mutex<VecDeque<InvocationRecord>>,
    capacity: usize,
    feed: LiveFeed<InvocationRecord>,
}

/// A live follower of the journal.
pub type JournalFeed = Follower<InvocationRecord>;

impl Journal {
    /// A journal that keeps `capacity` records.
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            epoch: Instant::now(),
            next_seq: AtomicU64::new(1),
            ring: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            feed: LiveFeed::new(FEED_CAPACITY),
        }
    }

    /// Nanoseconds from the journal's start to `at`.
    pub(crate) fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds `record` (its `seq` is assigned here) to the ring and sends it
    /// to the followers; returns its `seq`.
    pub(crate) fn record(&self, mut record: InvocationRecord) -> u64 {
        if self.capacity == 0 {
            return self.next_seq.fetch_add(1, Ordering::Relaxed);
        }
        let followed = self.feed.followed();
        let (seq, copy) = {
            let mut ring = self
                .ring
                .lock()
                .expect("the journal's lock is never poisoned");
            // Numbered under the lock, so the ring is in seq order.
            record.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            let copy = followed.then(|| Arc::new(record.clone()));
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            let seq = record.seq;
            ring.push_back(record);
            (seq, copy)
        };
        if let Some(record) = copy {
            self.feed.publish(record);
        }
        seq
    }

    /// Adds the records of one pipeline run's stages, first to last, with
    /// consecutive numbers; each one's `stage.run` is set to the first's.
    /// Returns their numbers.
    pub(crate) fn record_run(&self, records: Vec<InvocationRecord>) -> Vec<u64> {
        let followed = self.feed.followed();
        let mut ring = self
            .ring
            .lock()
            .expect("the journal's lock is never poisoned");
        let first = self.next_seq.load(Ordering::Relaxed);
        let mut seqs = Vec::with_capacity(records.len());
        for mut record in records {
            record.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            if let Some(stage) = &mut record.stage {
                stage.run = first;
            }
            seqs.push(record.seq);
            if followed {
                self.feed.publish(Arc::new(record.clone()));
            }
            if self.capacity == 0 {
                continue;
            }
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            ring.push_back(record);
        }
        seqs
    }

    /// Up to `limit` records after `since`, oldest first, of `function`
    /// only when given.
    pub(crate) fn recent(
        &self,
        function: Option<&str>,
        since: u64,
        limit: usize,
    ) -> Vec<InvocationRecord> {
        let ring = self
            .ring
            .lock()
            .expect("the journal's lock is never poisoned");
        let first = ring.partition_point(|r| r.seq <= since);
        ring.range(first..)
            .filter(|r| function.is_none_or(|f| &*r.function == f))
            .take(limit)
            .cloned()
            .collect()
    }

    /// A follower that gets every record from now on.
    pub(crate) fn follow(&self) -> JournalFeed {
        self.feed.follow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(function: &str) -> InvocationRecord {
        InvocationRecord {
            seq: 0,
            function: function.into(),
            kind: "wasm",
            start_kind: "snapshot",
            arrival_ns: 1,
            dequeue_ns: 1,
            start_ns: 2,
            ready_ns: 2,
            end_ns: 3,
            reply_ns: 3,
            outcome: "ok",
            exit_code: 0,
            input_bytes: 0,
            output_bytes: 0,
            cpu_ns: None,
            peak_memory_bytes: None,
            cycles: None,
            instructions: None,
            llc_misses: None,
            stage: None,
            trace: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_records_in_order() {
        let journal = Journal::new(3);
        for name in ["a", "b", "a", "b", "a"] {
            journal.record(record(name));
        }
        let seqs: Vec<u64> = journal.recent(None, 0, 10).iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        let a: Vec<u64> = journal
            .recent(Some("a"), 0, 10)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(a, vec![3, 5]);
        assert_eq!(journal.recent(None, 4, 10).len(), 1);
        assert_eq!(journal.recent(None, 0, 2).len(), 2);
    }

    #[test]
    fn a_slow_follower_loses_records_instead_of_blocking() {
        let journal = Journal::new(10);
        let mut feed = journal.follow();
        for _ in 0..FEED_CAPACITY + 10 {
            journal.record(record("a"));
        }
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let first = io.block_on(feed.next()).unwrap();
        assert_eq!(feed.lost(), 10);
        assert_eq!(first.seq, 11);
    }

    #[test]
    fn a_runs_stages_are_numbered_together_and_know_their_run() {
        let journal = Journal::new(10);
        journal.record(record("a"));
        let stage = |index| InvocationRecord {
            stage: Some(StageRecord {
                run: 0,
                index,
                stages: 2,
                input_edge: "pipe",
                output_edge: "pipe",
                blocked_read_ns: 0,
                blocked_write_ns: 0,
            }),
            ..record("s")
        };
        assert_eq!(journal.record_run(vec![stage(0), stage(1)]), vec![2, 3]);
        let kept = journal.recent(Some("s"), 0, 10);
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|r| r.stage.unwrap().run == 2));
    }

    #[test]
    fn a_journal_of_capacity_zero_keeps_nothing() {
        let journal = Journal::new(0);
        journal.record(record("a"));
        assert!(journal.recent(None, 0, 10).is_empty());
    }
}
