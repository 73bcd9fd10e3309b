//! The invocation journal: one record per invocation, taken from one
//! monotonic clock, kept in a bounded ring for `GET /v1/invocations` and
//! sent to live followers. Recording never waits: the ring drops its
//! oldest record, and a follower that falls behind loses records (counted)
//! rather than slowing invocations.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast;

/// Records the ring keeps.
pub const JOURNAL_CAPACITY: usize = 10_000;
/// Records in flight to each follower before it starts losing them.
const FEED_CAPACITY: usize = 4_096;

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
    /// When it had its instance slot and began to run.
    pub start_ns: u64,
    /// When it ended.
    pub end_ns: u64,
    /// How it ended (`ok`, `exit`, `trap`, `timeout`, `output_too_large`,
    /// ...: the `outcome` label of the metrics).
    pub outcome: &'static str,
    /// Its exit code (the conventional code for a trap or a timeout).
    pub exit_code: i32,
    /// Bytes of input.
    pub input_bytes: u64,
    /// Bytes of output.
    pub output_bytes: u64,
    /// The trace id of the caller's `traceparent`, if it sent one (32 hex
    /// digits in JSON).
    #[serde(serialize_with = "trace_hex", skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::TraceContext>,
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

fn as_str<S: serde::Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
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
    feed: broadcast::Sender<Arc<InvocationRecord>>,
    followers: Arc<AtomicUsize>,
}

/// A live follower of the journal.
pub struct JournalFeed {
    receiver: broadcast::Receiver<Arc<InvocationRecord>>,
    lost: u64,
    followers: Arc<AtomicUsize>,
}

impl Drop for JournalFeed {
    fn drop(&mut self) {
        self.followers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Journal {
    /// A journal that keeps `capacity` records.
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            epoch: Instant::now(),
            next_seq: AtomicU64::new(1),
            ring: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            feed: broadcast::channel(FEED_CAPACITY).0,
            followers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Nanoseconds from the journal's start to `at`.
    pub(crate) fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds `record` (its `seq` is assigned here) to the ring and sends it
    /// to the followers.
    pub(crate) fn record(&self, mut record: InvocationRecord) {
        if self.capacity == 0 {
            return;
        }
        let followed = self.followers.load(Ordering::Relaxed) > 0;
        let copy = {
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
            ring.push_back(record);
            copy
        };
        if let Some(record) = copy {
            // A follower that left in between is not an error.
            let _ = self.feed.send(record);
        }
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
        self.followers.fetch_add(1, Ordering::Relaxed);
        JournalFeed {
            receiver: self.feed.subscribe(),
            lost: 0,
            followers: self.followers.clone(),
        }
    }
}

impl JournalFeed {
    /// The next record; `None` once the runtime is gone. Records this
    /// follower was too slow for are skipped and counted in
    /// [`JournalFeed::lost`].
    pub async fn next(&mut self) -> Option<Arc<InvocationRecord>> {
        loop {
            match self.receiver.recv().await {
                Ok(record) => return Some(record),
                Err(broadcast::error::RecvError::Lagged(skipped)) => self.lost += skipped,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Records this follower lost by falling behind.
    pub fn lost(&self) -> u64 {
        self.lost
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
            start_ns: 2,
            end_ns: 3,
            outcome: "ok",
            exit_code: 0,
            input_bytes: 0,
            output_bytes: 0,
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
    fn a_journal_of_capacity_zero_keeps_nothing() {
        let journal = Journal::new(0);
        journal.record(record("a"));
        assert!(journal.recent(None, 0, 10).is_empty());
    }
}
