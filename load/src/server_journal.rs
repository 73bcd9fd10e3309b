//! Following a faasrt server's invocation journal during a run
//! (`GET /v1/invocations?follow=true`), so that each invocation's record
//! carries the server's own view of it, joined by the trace id the
//! injector sent: when it arrived, when it started and ended on the
//! server's clock, how its instance started and how it ended.

use crate::feed_follower::{Collector, FeedFollower};
use crate::inject::HttpTarget;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// One invocation as the server's journal recorded it (the fields of
/// `GET /v1/invocations` that a run keeps).
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq)]
pub struct ServerRecord {
    /// Its place in the server's journal.
    pub seq: u64,
    /// How its instance started (`snapshot`, `instance`, `fork-exec`).
    pub start_kind: String,
    /// When it reached the runtime, ns on the server's clock.
    pub arrival_ns: u64,
    /// When it was admitted (its slot held; a server before the field
    /// existed: 0).
    #[serde(default)]
    pub dequeue_ns: u64,
    /// When it began to run.
    pub start_ns: u64,
    /// When its instance or process was ready (a server before the field
    /// existed: 0).
    #[serde(default)]
    pub ready_ns: u64,
    /// When it ended.
    pub end_ns: u64,
    /// When its result went back (a server before the field existed: 0).
    #[serde(default)]
    pub reply_ns: u64,
    /// How it ended.
    pub outcome: String,
    /// Its CPU time, ns, when the server measured it.
    #[serde(default)]
    pub cpu_ns: Option<u64>,
    /// The most memory it held, bytes, when the server measured it.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// CPU cycles, with `serve --hw-counters` where the machine counts them.
    #[serde(default)]
    pub cycles: Option<u64>,
    /// Instructions retired, likewise.
    #[serde(default)]
    pub instructions: Option<u64>,
    /// Last-level cache misses, likewise.
    #[serde(default)]
    pub llc_misses: Option<u64>,
    /// The trace id the injector sent.
    #[serde(default)]
    pub trace: Option<String>,
}

/// What a follower of the journal collected.
#[derive(Debug, Default)]
pub struct Followed {
    /// Records by trace id.
    pub by_trace: HashMap<String, ServerRecord>,
    /// Records the server dropped for this follower (it fell behind).
    pub lost: u64,
    /// Why following failed, if it did (an older server without the
    /// journal answers 404).
    pub error: Option<String>,
}

impl Collector for Followed {
    /// One line of the feed: a record, or a count of records lost.
    fn take_line(&mut self, line: &[u8]) {
        #[derive(Deserialize)]
        struct Lost {
            lost: u64,
        }
        if let Ok(lost) = serde_json::from_slice::<Lost>(line) {
            self.lost += lost.lost;
        } else if let Ok(record) = serde_json::from_slice::<ServerRecord>(line)
            && let Some(trace) = record.trace.clone()
        {
            self.by_trace.insert(trace, record);
        }
    }
}

/// A follower of one server's journal, on a thread of its own.
pub struct JournalFollower(FeedFollower<Followed>);

impl JournalFollower {
    /// Starts following `target`'s journal: from the start of its ring
    /// (records of earlier runs carry other trace ids, or none, and join
    /// nothing).
    pub fn start(target: &HttpTarget) -> JournalFollower {
        JournalFollower(FeedFollower::start(target, "/v1/invocations?follow=true"))
    }

    /// Waits `drain` for the records of the last answers (the server
    /// writes an invocation's record before its answer, so little is in
    /// flight), then stops and returns what it collected.
    pub fn finish(self, drain: Duration) -> Followed {
        let done = self.0.finish(drain);
        Followed {
            error: done.error.or(done.collected.error),
            ..done.collected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_records_or_losses() {
        let mut followed = Followed::default();
        followed.take_line(br#"{"lost":3}"#);
        followed.take_line(
            br#"{"seq":7,"function":"f","kind":"wasm","start_kind":"snapshot","arrival_ns":1,"start_ns":2,"end_ns":5,"outcome":"ok","exit_code":0,"input_bytes":0,"output_bytes":0,"trace":"ab"}"#,
        );
        // A record without a trace cannot be joined and is not kept.
        followed.take_line(
            br#"{"seq":8,"function":"f","kind":"wasm","start_kind":"snapshot","arrival_ns":1,"start_ns":2,"end_ns":5,"outcome":"ok","exit_code":0,"input_bytes":0,"output_bytes":0}"#,
        );
        assert_eq!(followed.lost, 3);
        assert_eq!(followed.by_trace.len(), 1);
        assert_eq!(followed.by_trace["ab"].end_ns, 5);
    }
}
