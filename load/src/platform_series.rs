//! Following a faasrt server's platform series during a run
//! (`GET /v1/platform?follow=true&since=now`): one sample per interval,
//! the server's CPU per core, memory, slots, runs in flight, what ended,
//! refusals, kills, denials and pipes (written by `dataset`).

use crate::feed_follower::{Collected, Collector, FeedFollower};
use crate::inject::HttpTarget;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample of `GET /v1/platform`, as a run keeps it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct PlatformSample {
    /// Its place in the server's series.
    pub seq: u64,
    /// When it was taken, ns on the server's journal clock.
    pub time_ns: u64,
    /// The interval it covers, ns.
    pub interval_ns: u64,
    /// Each core's busy share over the interval.
    pub cpu_busy: Vec<f64>,
    /// Cores' worth of CPU the server used.
    pub process_cpu: Option<f64>,
    /// The server's resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Instance slots of the pool.
    pub instance_slots: u64,
    /// Slots in use at the end.
    pub instance_slots_in_use: u64,
    /// Runs in flight per function at the end.
    pub in_flight: BTreeMap<String, u64>,
    /// Runs that ended in the interval, by outcome.
    pub ended: BTreeMap<String, u64>,
    /// Requests refused (429) in the interval.
    pub rejected: u64,
    /// Runs stopped by the server (timeouts, oversized output).
    pub kills: u64,
    /// System calls seccomp denied in the interval.
    pub seccomp_denials: u64,
    /// Native processes alive.
    pub native_processes: u64,
    /// Descriptors open in the server.
    pub open_fds: u64,
    /// In-process pipes of running pipelines.
    pub live_pipes: u64,
    /// Bytes waiting in them.
    pub pipe_buffered_bytes: u64,
}

/// The samples a follower collected, and the samples the server dropped
/// for it.
#[derive(Debug, Default)]
pub struct Series {
    /// In the order taken.
    pub samples: Vec<PlatformSample>,
    /// Dropped because this follower fell behind.
    pub lost: u64,
}

impl Collector for Series {
    fn take_line(&mut self, line: &[u8]) {
        #[derive(Deserialize)]
        struct Lost {
            lost: u64,
        }
        if let Ok(lost) = serde_json::from_slice::<Lost>(line) {
            self.lost += lost.lost;
        } else if let Ok(sample) = serde_json::from_slice::<PlatformSample>(line) {
            self.samples.push(sample);
        }
    }
}

/// A follower of one server's platform series, from now on.
pub struct PlatformFollower(FeedFollower<Series>);

impl PlatformFollower {
    /// Starts following `target`'s series: samples taken from now on.
    pub fn start(target: &HttpTarget) -> Self {
        PlatformFollower(FeedFollower::start(
            target,
            "/v1/platform?follow=true&since=now",
        ))
    }

    /// Waits `drain` for the sample that covers the end of the run, then
    /// stops.
    pub fn finish(self, drain: Duration) -> Collected<Series> {
        self.0.finish(drain)
    }
}

/// The outcomes a sample's `ended` counts, in the columns' order.
pub(crate) const OUTCOMES: [&str; 5] = ["ok", "exit", "trap", "timeout", "output_too_large"];

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"seq":4,"time_ns":9,"interval_ns":1000,"cpu_busy":[0.5,0.25],"process_cpu":0.75,"rss_bytes":4096,"instance_slots":8,"instance_slots_in_use":2,"in_flight":{"a":1,"b":1},"ended":{"exit":0,"ok":3,"output_too_large":0,"timeout":1,"trap":0},"rejected":2,"kills":1,"seccomp_denials":0,"native_processes":0,"open_fds":12,"live_pipes":0,"pipe_buffered_bytes":0}"#;

    #[test]
    fn lines_are_samples_or_losses() {
        let mut series = Series::default();
        series.take_line(LINE.as_bytes());
        series.take_line(br#"{"lost":2}"#);
        series.take_line(b"not json");
        assert_eq!(series.samples.len(), 1);
        assert_eq!(series.lost, 2);
        assert_eq!(series.samples[0].ended["ok"], 3);
        assert_eq!(series.samples[0].cpu_busy, vec![0.5, 0.25]);
    }
}
