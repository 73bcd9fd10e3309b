//! Platform monitoring: a time series of what the machine and the runtime
//! are doing, sampled at a fixed interval (`faasrt serve
//! --sample-interval`, default 1 s) into a bounded ring for
//! `GET /v1/platform` and sent to live followers (`faasrt-load` writes it
//! as `platform.csv`). Here: the sample and the sampler; `proc_stats` reads
//! Linux's counters; `live_pipes` tracks the pipes of running pipelines.

mod live_pipes;
mod proc_stats;

pub(crate) use live_pipes::LivePipes;

use crate::invocation::Outcome;
use crate::live_feed::{FEED_CAPACITY, Follower, LiveFeed};
use proc_stats::CoreTicks;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Samples the ring keeps: an hour at the default interval.
pub const PLATFORM_CAPACITY: usize = 3_600;

/// What the platform did in one interval, and what it held at its end.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlatformSample {
    /// Its place in the series: 1, 2, ... for the life of the runtime.
    pub seq: u64,
    /// When it was taken, in nanoseconds on the journal's clock (that of
    /// `GET /v1/invocations`).
    pub time_ns: u64,
    /// The interval it covers, in nanoseconds (since the previous sample).
    pub interval_ns: u64,
    /// Each core's busy share over the interval, 0 to 1, in core order.
    pub cpu_busy: Vec<f64>,
    /// Cores' worth of CPU this process used over the interval (1.5: one
    /// and a half cores); null where Linux does not say.
    pub process_cpu: Option<f64>,
    /// This process's resident memory at the end, in bytes.
    pub rss_bytes: Option<u64>,
    /// Instance slots of the pool.
    pub instance_slots: usize,
    /// Those held by running invocations and pipeline stages.
    pub instance_slots_in_use: usize,
    /// Runs in flight per function (only those with any).
    pub in_flight: BTreeMap<String, usize>,
    /// Invocations and pipeline stages that ended in the interval, by
    /// outcome (`ok`, `exit`, `trap`, `timeout`, `output_too_large`).
    pub ended: BTreeMap<&'static str, u64>,
    /// Requests refused in the interval because every instance slot, or
    /// every slot of the function, was taken (faasrt queues nothing: such
    /// a request gets 429 at once, so this is the overload signal).
    pub rejected: u64,
    /// Runs stopped by faasrt in the interval: timeouts and oversized
    /// output.
    pub kills: u64,
    /// System calls seccomp denied in the interval (every thread role and
    /// native children).
    pub seccomp_denials: u64,
    /// Native function processes alive at the end.
    pub native_processes: usize,
    /// Descriptors open in the process at the end.
    pub open_fds: usize,
    /// In-process pipes of running pipelines at the end.
    pub live_pipes: usize,
    /// Bytes written into those pipes and not yet read.
    pub pipe_buffered_bytes: u64,
}

/// Running totals the sampler takes differences of.
#[derive(Default)]
pub(crate) struct PlatformCounters {
    ended: [AtomicU64; OUTCOMES.len()],
    rejected: AtomicU64,
}

const OUTCOMES: [Outcome; 5] = [
    Outcome::Ok,
    Outcome::Exit,
    Outcome::Trap,
    Outcome::Timeout,
    Outcome::OutputTooLarge,
];

impl PlatformCounters {
    /// Counts a run that ended with `outcome`.
    pub(crate) fn ended(&self, outcome: Outcome) {
        let index = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.ended[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refused request.
    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn totals(&self) -> Totals {
        Totals {
            ended: std::array::from_fn(|i| self.ended[i].load(Ordering::Relaxed)),
            rejected: self.rejected.load(Ordering::Relaxed),
            denials: faasrt_isolation::denials().iter().map(|d| d.count).sum(),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Totals {
    ended: [u64; OUTCOMES.len()],
    rejected: u64,
    denials: u64,
}

/// What the runtime holds now, which the sampler cannot read itself.
pub(crate) struct Holdings {
    pub instance_slots: usize,
    pub instance_slots_in_use: usize,
    pub in_flight: BTreeMap<String, usize>,
    pub native_processes: usize,
    pub open_fds: usize,
    pub live_pipes: usize,
    pub pipe_buffered_bytes: u64,
}

/// The series: the previous reading, the ring and the feed.
pub(crate) struct Platform {
    pub(crate) counters: PlatformCounters,
    state: Mutex<SamplerState>,
    feed: LiveFeed<PlatformSample>,
}

struct SamplerState {
    next_seq: u64,
    at: Instant,
    cores: Vec<CoreTicks>,
    process_cpu: Option<Duration>,
    totals: Totals,
    ring: VecDeque<PlatformSample>,
}

impl Platform {
    /// A series whose first interval starts now.
    pub(crate) fn new() -> Self {
        Platform {
            counters: PlatformCounters::default(),
            state: Mutex::new(SamplerState {
                next_seq: 1,
                at: Instant::now(),
                cores: proc_stats::core_ticks(),
                process_cpu: proc_stats::process_cpu(),
                totals: Totals::default(),
                ring: VecDeque::with_capacity(PLATFORM_CAPACITY),
            }),
            feed: LiveFeed::new(FEED_CAPACITY),
        }
    }

    /// Takes a sample of the interval since the previous one, ending with
    /// `holdings`, keeps it and sends it to the followers. `time_ns` is now
    /// on the journal's clock.
    pub(crate) fn sample(&self, holdings: Holdings, time_ns: u64) -> PlatformSample {
        let now = Instant::now();
        let cores = proc_stats::core_ticks();
        let process_cpu = proc_stats::process_cpu();
        let totals = self.counters.totals();
        let mut state = self.lock();
        let interval = now.saturating_duration_since(state.at);
        let used = match (state.process_cpu, process_cpu) {
            (Some(before), Some(after)) if !interval.is_zero() => {
                Some(after.saturating_sub(before).as_secs_f64() / interval.as_secs_f64())
            }
            _ => None,
        };
        let ended: BTreeMap<&'static str, u64> = OUTCOMES
            .iter()
            .enumerate()
            .map(|(i, outcome)| {
                (
                    outcome.label(),
                    totals.ended[i].saturating_sub(state.totals.ended[i]),
                )
            })
            .collect();
        let kills = ended["timeout"] + ended["output_too_large"];
        let sample = PlatformSample {
            seq: state.next_seq,
            time_ns,
            interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
            cpu_busy: proc_stats::busy_shares(&state.cores, &cores),
            process_cpu: used,
            rss_bytes: proc_stats::resident_bytes(),
            instance_slots: holdings.instance_slots,
            instance_slots_in_use: holdings.instance_slots_in_use,
            in_flight: holdings.in_flight,
            ended,
            rejected: totals.rejected.saturating_sub(state.totals.rejected),
            kills,
            seccomp_denials: totals.denials.saturating_sub(state.totals.denials),
            native_processes: holdings.native_processes,
            open_fds: holdings.open_fds,
            live_pipes: holdings.live_pipes,
            pipe_buffered_bytes: holdings.pipe_buffered_bytes,
        };
        state.next_seq += 1;
        state.at = now;
        state.cores = cores;
        state.process_cpu = process_cpu;
        state.totals = totals;
        if state.ring.len() == PLATFORM_CAPACITY {
            state.ring.pop_front();
        }
        state.ring.push_back(sample.clone());
        drop(state);
        if self.feed.followed() {
            self.feed.publish(std::sync::Arc::new(sample.clone()));
        }
        sample
    }

    /// Up to `limit` samples after `since`, oldest first.
    pub(crate) fn recent(&self, since: u64, limit: usize) -> Vec<PlatformSample> {
        let state = self.lock();
        let first = state.ring.partition_point(|s| s.seq <= since);
        state.ring.range(first..).take(limit).cloned().collect()
    }

    /// The `seq` of the latest sample (0 before the first).
    pub(crate) fn latest(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// A follower of every sample from now on.
    pub(crate) fn follow(&self) -> Follower<PlatformSample> {
        self.feed.follow()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SamplerState> {
        self.state
            .lock()
            .expect("the platform sampler's lock is never poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holdings() -> Holdings {
        Holdings {
            instance_slots: 8,
            instance_slots_in_use: 2,
            in_flight: BTreeMap::from([("f".to_owned(), 2)]),
            native_processes: 0,
            open_fds: 10,
            live_pipes: 1,
            pipe_buffered_bytes: 5,
        }
    }

    #[test]
    fn a_sample_counts_what_ended_in_its_interval_only() {
        let platform = Platform::new();
        platform.counters.ended(Outcome::Ok);
        platform.counters.ended(Outcome::Timeout);
        platform.counters.rejected();
        let first = platform.sample(holdings(), 100);
        assert_eq!(first.seq, 1);
        assert_eq!(first.ended["ok"], 1);
        assert_eq!(first.ended["timeout"], 1);
        assert_eq!(first.kills, 1);
        assert_eq!(first.rejected, 1);
        assert_eq!(first.instance_slots_in_use, 2);
        assert!(first.rss_bytes.unwrap() > 0);
        platform.counters.ended(Outcome::Ok);
        let second = platform.sample(holdings(), 200);
        assert_eq!(second.seq, 2);
        assert_eq!(second.ended["ok"], 1);
        assert_eq!(second.kills, 0);
        assert_eq!(second.rejected, 0);
        let kept: Vec<u64> = platform.recent(0, 10).iter().map(|s| s.seq).collect();
        assert_eq!(kept, vec![1, 2]);
        assert_eq!(platform.recent(1, 10).len(), 1);
    }

    #[test]
    fn cpu_shares_are_fractions_of_the_interval() {
        let platform = Platform::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0u64);
        }
        let sample = platform.sample(holdings(), 1);
        assert!(
            sample.cpu_busy.iter().all(|b| (0.0..=1.0).contains(b)),
            "{sample:?}"
        );
        let used = sample.process_cpu.expect("this process's CPU");
        assert!((0.0..=64.0).contains(&used), "{sample:?}");
    }
}
