//! The open-loop injector: sends every invocation of a [`Schedule`] to a
//! [`Target`] at its scheduled time, whatever the answers to earlier ones,
//! and records each ([`Record`]). The targets: a faasrt server over HTTP
//! (`http`), nothing at all ([`NullTarget`], which measures the injector
//! alone), or any other that implements [`Target`] (the `faasrt-load`
//! binary's in-process runtime).
//!
//! Each sending thread (`workers` of them) keeps its share of the schedule
//! and carries its own requests: it sleeps while its next invocation is
//! far off and polls the clock between its requests' I/O in the last
//! 1.5 ms, so a send costs no wake-up of another thread; it never waits
//! for an answer, so a slow server cannot slow the sending and hide its
//! latency. A thread that polls keeps its core busy: pin the injector and
//! the server to different CPUs (`--cpus`). When the requests in flight reach their bound the sender
//! does wait, and falls behind: the run then warns when it has sent 10%
//! fewer invocations than were due, and stops at 20%.

mod http;
mod in_process;
mod target;

pub(crate) use http::HttpSender;
pub use http::HttpTarget;
pub use in_process::{InProcessError, ModuleArg, RuntimeTarget, open_runtime};
pub use target::{Answer, NullTarget, Target};

use crate::mapping::{Mapping, MappingError};
use crate::record::Record;
use crate::schedule::Schedule;
pub use crate::trace_ids::TraceIds;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a run is carried out.
#[derive(Clone, Debug)]
pub struct InjectOptions {
    /// Requests in flight at most; past it the sender waits.
    pub max_in_flight: usize,
    /// Async worker threads that carry the requests.
    pub workers: usize,
    /// How long one request may take before it is recorded as failed.
    pub request_timeout: Duration,
    /// Warn when the invocations sent fall this far behind those due.
    pub warn_divergence: f64,
    /// Stop when they fall this far behind.
    pub abort_divergence: f64,
    /// The guard looks only once this many invocations were due.
    pub guard_after: u64,
    /// The first half of every trace id the run sends: each invocation
    /// carries `traceparent: 00-<run id><schedule index>-...`, so that the
    /// server's journal records can be joined with the injector's.
    pub run_id: u64,
    /// ... and only this long into the run: the first sends of a run pay
    /// for connections and cold caches on both sides.
    pub guard_grace: Duration,
    /// Counted as each invocation's answer arrives, for a progress bar.
    pub progress: Option<Arc<Progress>>,
    /// Connections each sending thread opens before the run's clock
    /// starts. Opening one mid-run costs the server an accept and a task
    /// while it is busiest, and the requests waiting for it fall behind:
    /// with too few, a run near the server's capacity collapses (measured:
    /// 16 collapsed at 12 000/s against a server that serves 16 000/s; 128
    /// kept up, p99 send lag 14 us). They are also the most requests an
    /// HTTP sending thread has on the wire; more wait for a free one.
    pub connections: usize,
}

/// How far a run is: the invocations answered (or failed) so far.
#[derive(Debug, Default)]
pub struct Progress {
    done: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl Progress {
    /// Invocations done (answered or failed).
    pub fn done(&self) -> u64 {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Of those, the ones that did not succeed.
    pub fn failed(&self) -> u64 {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, succeeded: bool) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !succeeded {
            self.failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Default for InjectOptions {
    fn default() -> Self {
        InjectOptions {
            max_in_flight: 4096,
            workers: 1,
            request_timeout: Duration::from_secs(60),
            warn_divergence: 0.10,
            abort_divergence: 0.20,
            guard_after: 100,
            guard_grace: Duration::from_secs(1),
            run_id: new_run_id(),
            progress: None,
            connections: 128,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Run {
    /// One per invocation sent, in schedule order.
    pub records: Vec<Record>,
    /// Why the run stopped early, if it did.
    pub aborted: Option<String>,
    /// The warning given when sending fell behind, if it did.
    pub warning: Option<String>,
    /// From the first scheduled send to the last answer.
    pub wall: Duration,
    /// CPU time of the sending thread.
    pub sender_cpu: Duration,
    /// CPU time of the whole injector process over the run.
    pub process_cpu: Duration,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// A trace function has no deployed function.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The async workers could not be started.
    #[error("cannot start the injector's workers: {0}")]
    Runtime(std::io::Error),
}

/// Sends `schedule` to the faasrt server at `target`, each trace
/// function's invocations to the function `mapping` gives it.
///
/// # Errors
/// [`InjectError`] before anything is sent; what goes wrong once the run
/// has started is in the records (a failed request) or in
/// [`Run::aborted`].
pub fn run_http(
    schedule: &Schedule,
    mapping: &Mapping,
    target: &HttpTarget,
    options: &InjectOptions,
) -> Result<Run, InjectError> {
    let functions = deployed_functions(schedule, mapping)?;
    run_open_loop(schedule, &functions, options, |worker_options| {
        HttpSender::new(target, &functions, worker_options)
    })
}

/// A client of the faasrt server `target` whose function `i` is
/// `functions[i]`, with `options`' timeout, for a driver of its own (a
/// dataset sweep). Make it inside the async runtime that will drive it.
pub fn http_sender(
    target: &HttpTarget,
    functions: &[Arc<str>],
    options: &InjectOptions,
) -> impl Target + use<> {
    HttpSender::new(target, functions, options)
}

/// The deployed function of each of `schedule`'s trace functions, in the
/// schedule's function order.
///
/// # Errors
/// [`MappingError`] for a trace function `mapping` has no function for.
pub fn deployed_functions(
    schedule: &Schedule,
    mapping: &Mapping,
) -> Result<Vec<Arc<str>>, MappingError> {
    schedule
        .functions()
        .iter()
        .map(|id| mapping.target(id).map(Arc::from))
        .collect()
}

/// Sends `schedule` open loop to targets made by `make_target` (one per
/// sending thread, made on it, from that thread's options): invocation `i`
/// goes to function `functions[schedule.entries()[i].function]`.
///
/// # Errors
/// [`InjectError::Runtime`] when the sending threads cannot start.
pub fn run_open_loop<T: Target>(
    schedule: &Schedule,
    functions: &[Arc<str>],
    options: &InjectOptions,
    make_target: impl Fn(&InjectOptions) -> T + Sync,
) -> Result<Run, InjectError> {
    let workers = options.workers.max(1);
    let process_cpu_before = process_cpu();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Every worker opens its connections first; the run's clock starts
    // when all have, shortly after.
    let entries = schedule.entries().len();
    // Room for every record, its pages touched before the clock starts: a
    // page fault per few records during a million-a-second run makes the
    // sending late.
    let mut buffers: Vec<Vec<Record>> = (0..workers)
        .map(|worker| prefaulted(entries.saturating_sub(worker).div_ceil(workers)))
        .collect();
    // Made before the clock starts (which, for millions, takes a while),
    // so that sending allocates no input.
    let inputs = schedule
        .entries()
        .iter()
        .map(|entry| entry.input.clone().map(Bytes::from).unwrap_or_default())
        .collect();
    let copy = schedule.clone();
    let start = Instant::now() + Duration::from_millis(200);
    let shared = Arc::new(Shared {
        schedule: copy,
        functions: functions.to_vec(),
        trace_functions: schedule
            .functions()
            .iter()
            .map(|id| Arc::from(id.as_str()))
            .collect(),
        inputs,
        start,
    });
    let outcomes = std::thread::scope(|scope| {
        let mut threads = Vec::new();
        for (worker, buffer) in buffers.drain(..).enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(InjectError::Runtime)?;
            let mut worker_options = options.clone();
            worker_options.max_in_flight = (options.max_in_flight / workers).max(1);
            let (shared, stop) = (shared.clone(), stop.clone());
            let make_target = &make_target;
            let thread = std::thread::Builder::new()
                .name(format!("faasrt-load-{worker}"))
                .spawn_scoped(scope, move || {
                    let target = {
                        let _entered = runtime.enter();
                        make_target(&worker_options)
                    };
                    runtime.block_on(send_share(
                        shared,
                        worker,
                        workers,
                        Arc::new(target),
                        worker_options,
                        buffer,
                        stop,
                    ))
                })
                .map_err(InjectError::Runtime)?;
            threads.push(thread);
        }
        let outcomes: Vec<ShareOutcome> = threads
            .into_iter()
            .map(|thread| thread.join().expect("a sending thread does not panic"))
            .collect();
        Ok::<_, InjectError>(outcomes)
    });
    let mut records = Vec::with_capacity(schedule.entries().len());
    let mut aborted = None;
    let mut warning = None;
    let mut sender_cpu = Duration::ZERO;
    for outcome in outcomes? {
        records.extend(outcome.records);
        aborted = aborted.or(outcome.aborted);
        warning = warning.or(outcome.warning);
        sender_cpu += outcome.cpu;
    }
    // To the last answer: not the teardown of the sending threads after it.
    let wall = Duration::from_nanos(records.iter().map(|r| r.done_ns).max().unwrap_or(0));
    records.sort_by_key(|r| r.index);
    Ok(Run {
        records,
        aborted,
        warning,
        wall,
        sender_cpu,
        process_cpu: process_cpu().saturating_sub(process_cpu_before),
    })
}

/// What every sending thread reads.
struct Shared {
    schedule: Schedule,
    /// The deployed function of each trace function.
    functions: Vec<Arc<str>>,
    /// The trace functions' ids.
    trace_functions: Vec<Arc<str>>,
    /// Each invocation's input.
    inputs: Vec<Bytes>,
    start: Instant,
}

/// How one sending thread's share of the run went.
struct ShareOutcome {
    records: Vec<Record>,
    aborted: Option<String>,
    warning: Option<String>,
    cpu: Duration,
}

/// How long before an invocation is due its thread stops sleeping and
/// polls the clock (between its requests' I/O): tokio's timer has a 1 ms
/// grain.
const POLL_AHEAD: Duration = Duration::from_micros(1_500);

/// Sends invocations `worker`, `worker + workers`, ... of the schedule from
/// this thread, each at its time: it sleeps while the next is far, and in
/// the last [`POLL_AHEAD`] polls the clock between its requests' I/O, so
/// that sending costs no wake-up of another thread.
async fn send_share<T: Target>(
    shared: Arc<Shared>,
    worker: usize,
    workers: usize,
    target: Arc<T>,
    options: InjectOptions,
    records: Vec<Record>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> ShareOutcome {
    use std::sync::atomic::Ordering;
    let cpu_before = thread_cpu();

    target.warm_up(options.connections).await;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(options.max_in_flight.max(1)));
    let invoker = Invoker {
        timeout: options.request_timeout,
        progress: options.progress.clone(),
        run_id: options.run_id,
    };
    let entries = shared.schedule.entries();
    // Before the clock: at 1 M/s for 5 s, 40 MB whose faults delayed sends.
    let mine: Vec<usize> = (worker..entries.len()).step_by(workers).collect();
    let records = Arc::new(std::sync::Mutex::new(records));
    tokio::time::sleep_until(shared.start.into()).await;
    let start = shared.start;
    let mut guard = Guard::new(&options);
    let (mut next, mut due) = (0, 0);
    while next < mine.len() && !stop.load(Ordering::Relaxed) {
        let now_ns = nanos_since(start);
        while due < mine.len() && entries[mine[due]].at_ns <= now_ns {
            due += 1;
        }
        if next < due {
            let judged = now_ns >= options.guard_grace.as_nanos() as u64;
            if judged && guard.check(due as u64, next as u64).is_err() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
            let index = mine[next];
            let entry = &entries[index];
            let permit = match in_flight.clone().try_acquire_owned() {
                Ok(permit) => permit,
                // At the bound: wait for an answer (and fall behind).
                Err(_) => in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the in-flight semaphore is never closed"),
            };
            let function = entry.function as usize;
            let request = Request {
                index: index as u64,
                function,
                trace_function: shared.trace_functions[function].clone(),
                deployed: shared.functions[function].clone(),
                input: shared.inputs[index].clone(),
                scheduled_ns: entry.at_ns,
            };
            let (target, records, invoker) = (target.clone(), records.clone(), invoker.clone());
            let invocation = Box::pin(async move {
                let record = invoker.invoke(&*target, request, start).await;
                drop(permit);
                records
                    .lock()
                    .expect("the records' lock is never poisoned")
                    .push(record);
            });
            spawn_unless_ready(invocation);
            next += 1;
            continue;
        }
        let wait = Duration::from_nanos(entries[mine[next]].at_ns.saturating_sub(now_ns));
        if wait > POLL_AHEAD {
            tokio::time::sleep(wait - POLL_AHEAD + Duration::from_micros(500)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    // Every request answered (or timed out): all permits back.
    let all = u32::try_from(options.max_in_flight.max(1)).unwrap_or(u32::MAX);
    let _ = in_flight.acquire_many(all).await;
    let records =
        std::mem::take(&mut *records.lock().expect("the records' lock is never poisoned"));
    ShareOutcome {
        records,
        aborted: guard.aborted,
        warning: guard.warning,
        cpu: thread_cpu().saturating_sub(cpu_before),
    }
}

/// An empty vector with room for `count` records whose memory is already
/// touched (written with zeros), so that pushing them faults no page in.
fn prefaulted(count: usize) -> Vec<Record> {
    let mut records = Vec::with_capacity(count);
    for slot in records.spare_capacity_mut() {
        *slot = std::mem::MaybeUninit::zeroed();
    }
    records
}

/// Polls `invocation` once, here; only if it is not done at once (it waits
/// for an answer) does it become a task. A target that answers without
/// waiting (the in-process runtime running a guest to its end, the null
/// target) then costs no task at all.
fn spawn_unless_ready(
    mut invocation: std::pin::Pin<Box<impl Future<Output = ()> + Send + 'static>>,
) {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    if invocation.as_mut().poll(&mut context).is_pending() {
        // The task polls it again at once, with a waker of its own.
        tokio::spawn(invocation);
    }
}

/// Compares the invocations sent with those due.
struct Guard {
    warn: f64,
    abort: f64,
    after: u64,
    warning: Option<String>,
    aborted: Option<String>,
}

impl Guard {
    fn new(options: &InjectOptions) -> Self {
        Guard {
            warn: options.warn_divergence,
            abort: options.abort_divergence,
            after: options.guard_after,
            warning: None,
            aborted: None,
        }
    }

    /// `Err` once `issued` is more than the abort share behind `due`.
    fn check(&mut self, due: u64, issued: u64) -> Result<(), ()> {
        if due < self.after.max(1) {
            return Ok(());
        }
        let behind = due.saturating_sub(issued) as f64 / due as f64;
        let say = || {
            format!(
                "{issued} invocations sent of {due} due ({:.0}% behind): the target or the injector cannot keep up",
                behind * 100.0
            )
        };
        if behind > self.abort {
            self.aborted = Some(say());
            return Err(());
        }
        if behind > self.warn && self.warning.is_none() {
            self.warning = Some(say());
        }
        Ok(())
    }
}

/// One invocation to send.
pub(crate) struct Request {
    /// Its index in the schedule (or the closed loop's number).
    pub(crate) index: u64,
    /// Its function, as an index into the run's functions.
    pub(crate) function: usize,
    /// The trace function it replays.
    pub(crate) trace_function: Arc<str>,
    /// The deployed function it invokes.
    pub(crate) deployed: Arc<str>,
    /// Its input.
    pub(crate) input: Bytes,
    /// When it is due, from the run's start.
    pub(crate) scheduled_ns: u64,
}

/// Invokes a target and records how it went.
#[derive(Clone)]
pub(crate) struct Invoker {
    pub(crate) timeout: Duration,
    pub(crate) progress: Option<Arc<Progress>>,
    /// The first half of every trace id this run sends.
    pub(crate) run_id: u64,
}

impl Invoker {
    /// Sends one invocation to `target` and records it, times from
    /// `start`.
    pub(crate) async fn invoke<T: Target>(
        &self,
        target: &T,
        request: Request,
        start: Instant,
    ) -> Record {
        let sent_ns = nanos_since(start);
        let request_bytes = request.input.len() as u64;
        let trace = TraceIds {
            run_id: self.run_id,
            index: request.index,
        };
        let mut call = std::pin::pin!(target.invoke(request.function, request.input, trace));
        // A target that answers at once needs no timer.
        let answer = match futures::poll!(call.as_mut()) {
            std::task::Poll::Ready(answer) => answer,
            std::task::Poll::Pending => tokio::time::timeout(self.timeout, call)
                .await
                .unwrap_or_else(|_| Answer::failed(format!("no answer within {:?}", self.timeout))),
        };
        if let Some(progress) = &self.progress {
            progress.count(answer.succeeded());
        }
        Record {
            index: request.index,
            trace_function: request.trace_function,
            trace,
            function: request.deployed,
            scheduled_ns: request.scheduled_ns,
            sent_ns,
            done_ns: nanos_since(start),
            status: answer.status,
            request_bytes,
            response_bytes: answer.response_bytes,
            error: answer.error,
        }
    }
}

/// A run id unlikely to repeat: the clock and the process id, hashed.
pub(crate) fn new_run_id() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{now}/{}", std::process::id());
    xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) | 1
}

/// Nanoseconds from `start` to now.
pub(crate) fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn thread_cpu() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

pub(crate) fn process_cpu() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_clock(clock: libc::clockid_t) -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec for clock_gettime to fill.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_warns_past_ten_percent_behind_and_stops_past_twenty() {
        let mut guard = Guard::new(&InjectOptions::default());
        assert!(guard.check(50, 0).is_ok(), "too few due to judge");
        assert!(guard.check(1000, 950).is_ok());
        assert!(guard.warning.is_none());
        assert!(guard.check(1000, 850).is_ok());
        assert!(
            guard
                .warning
                .as_deref()
                .unwrap()
                .contains("850 invocations sent of 1000 due")
        );
        assert!(guard.check(1000, 790).is_err());
        assert!(guard.aborted.is_some());
    }
}
