//! Each function's recent logs: the log tail of every invocation that
//! wrote one, kept in a bounded ring per function, for
//! `GET /v1/functions/{name}/logs` and `faasrt logs`, and sent to live
//! followers as invocations end (like `wrangler tail`). Recording never
//! waits on a follower.

use crate::live_feed::{FEED_CAPACITY, Follower, LiveFeed};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Bytes of log text each function's ring keeps (an entry also counts
/// [`ENTRY_OVERHEAD`]); the oldest entries go first.
pub const FUNCTION_LOG_BYTES: usize = 256 << 10;
/// What an entry costs besides its text, in the ring's accounting.
const ENTRY_OVERHEAD: usize = 64;

/// The log of one invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// The invocation's `seq` in the journal (`GET /v1/invocations`).
    pub invocation: u64,
    /// The function.
    #[serde(serialize_with = "crate::journal::as_str")]
    pub function: Arc<str>,
    /// When the invocation ended, in nanoseconds on the journal's clock.
    pub end_ns: u64,
    /// How it ended (`ok`, `exit`, `trap`, ...).
    pub outcome: &'static str,
    /// The end of what it wrote to its log (stderr), as text.
    pub log: String,
}

/// Every function's ring, and the live feed of new entries.
pub(crate) struct FunctionLogs {
    rings: Mutex<HashMap<Arc<str>, Ring>>,
    bytes_per_function: usize,
    feed: LiveFeed<LogEntry>,
}

/// One function's entries, oldest first, and what they cost.
#[derive(Default)]
struct Ring {
    entries: VecDeque<LogEntry>,
    bytes: usize,
}

/// A live follower of every function's logs.
pub type LogFeed = Follower<LogEntry>;

impl FunctionLogs {
    /// Rings of `bytes_per_function` each.
    pub(crate) fn new(bytes_per_function: usize) -> Self {
        FunctionLogs {
            rings: Mutex::new(HashMap::new()),
            bytes_per_function,
            feed: LiveFeed::new(FEED_CAPACITY),
        }
    }

    /// Keeps `entry` in its function's ring (when it logged anything) and
    /// sends it to the followers.
    pub(crate) fn record(&self, entry: LogEntry) {
        if entry.log.is_empty() {
            return;
        }
        let copy = self.feed.followed().then(|| Arc::new(entry.clone()));
        let cost = entry.log.len() + ENTRY_OVERHEAD;
        if cost <= self.bytes_per_function {
            let mut rings = self.lock();
            let ring = rings.entry(entry.function.clone()).or_default();
            while ring.bytes + cost > self.bytes_per_function {
                let Some(oldest) = ring.entries.pop_front() else {
                    break;
                };
                ring.bytes -= oldest.log.len() + ENTRY_OVERHEAD;
            }
            ring.bytes += cost;
            ring.entries.push_back(entry);
        }
        if let Some(entry) = copy {
            self.feed.publish(entry);
        }
    }

    /// Up to `limit` of `function`'s entries of invocations after `since`,
    /// oldest first; only that of `invocation` when given.
    pub(crate) fn recent(
        &self,
        function: &str,
        since: u64,
        invocation: Option<u64>,
        limit: usize,
    ) -> Vec<LogEntry> {
        let rings = self.lock();
        let Some(ring) = rings.get(function) else {
            return Vec::new();
        };
        let first = ring.entries.partition_point(|e| e.invocation <= since);
        ring.entries
            .range(first..)
            .filter(|e| invocation.is_none_or(|seq| e.invocation == seq))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Forgets `function`'s logs (it was removed).
    pub(crate) fn forget(&self, function: &str) {
        self.lock().remove(function);
    }

    /// A follower of every entry from now on.
    pub(crate) fn follow(&self) -> LogFeed {
        self.feed.follow()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Ring>> {
        self.rings.lock().expect("the logs' lock is never poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(function: &str, invocation: u64, log: &str) -> LogEntry {
        LogEntry {
            invocation,
            function: function.into(),
            end_ns: invocation * 10,
            outcome: "ok",
            log: log.into(),
        }
    }

    #[test]
    fn each_function_keeps_its_newest_logs_within_its_bytes() {
        let logs = FunctionLogs::new(3 * (ENTRY_OVERHEAD + 10));
        for seq in 1..=5 {
            logs.record(entry("a", seq, "0123456789"));
            logs.record(entry("b", seq + 100, "x"));
        }
        let a: Vec<u64> = logs
            .recent("a", 0, None, 100)
            .iter()
            .map(|e| e.invocation)
            .collect();
        assert_eq!(a, vec![3, 4, 5]);
        // b's budget is its own: a's entries took none of it.
        let b: Vec<u64> = logs
            .recent("b", 0, None, 100)
            .iter()
            .map(|e| e.invocation)
            .collect();
        assert_eq!(b, vec![103, 104, 105]);
        assert_eq!(logs.recent("a", 3, None, 100).len(), 2);
        assert_eq!(logs.recent("a", 0, Some(4), 100)[0].invocation, 4);
        assert!(logs.recent("a", 0, Some(1), 100).is_empty());
        logs.forget("a");
        assert!(logs.recent("a", 0, None, 100).is_empty());
    }

    #[test]
    fn an_invocation_without_a_log_keeps_nothing() {
        let logs = FunctionLogs::new(FUNCTION_LOG_BYTES);
        let mut feed = logs.follow();
        logs.record(entry("a", 1, ""));
        logs.record(entry("a", 2, "hello\n"));
        assert_eq!(logs.recent("a", 0, None, 10).len(), 1);
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(io.block_on(feed.next()).unwrap().invocation, 2);
    }

    #[test]
    fn a_log_larger_than_the_ring_is_still_sent_to_followers() {
        let logs = FunctionLogs::new(ENTRY_OVERHEAD + 4);
        let mut feed = logs.follow();
        logs.record(entry("a", 1, "too long"));
        assert!(logs.recent("a", 0, None, 10).is_empty());
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(io.block_on(feed.next()).unwrap().log, "too long");
    }
}
