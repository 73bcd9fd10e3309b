//! Running a prepared pipeline: one fiber per stage, pipes between them.

use super::{PipelineResult, PipelineSpec, StageResult};
use crate::TraceContext;
use crate::function_logs::LogEntry;
use crate::invocation::{InvocationUsage, RunRequest};
use crate::journal::{InvocationRecord, StageRecord};
use crate::native::OsStdio;
use crate::native::splice::{RelayStats, SpliceEdge};
use crate::registry::LoadedFunction;
use crate::runtime::Runtime;
use faasrt_host_api::{Faasin, PipeCounter, PipeReader, PipeWriter};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// A pipeline whose functions are resolved and whose instance slots are
/// reserved: [`PreparedPipeline::run`] cannot fail to start.
pub struct PreparedPipeline {
    runtime: Runtime,
    spec: PipelineSpec,
    functions: Vec<Arc<LoadedFunction>>,
    /// When it was asked for: its stages' arrival in the journal.
    prepared_at: Instant,
    /// The caller's trace context, kept in its stages' records.
    trace: Option<TraceContext>,
    /// The instance slots and the functions' own concurrency permits of
    /// every stage, held until the run ends.
    _slots: (OwnedSemaphorePermit, Vec<OwnedSemaphorePermit>),
}

impl PreparedPipeline {
    pub(crate) fn new(
        runtime: Runtime,
        spec: PipelineSpec,
        functions: Vec<Arc<LoadedFunction>>,
        slots: (OwnedSemaphorePermit, Vec<OwnedSemaphorePermit>),
    ) -> Self {
        PreparedPipeline {
            runtime,
            spec,
            functions,
            prepared_at: Instant::now(),
            trace: None,
            _slots: slots,
        }
    }

    /// Keeps the caller's W3C trace context in every stage's journal
    /// record.
    pub fn with_trace(mut self, trace: Option<TraceContext>) -> Self {
        self.trace = trace;
        self
    }

    /// The spec being run.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// Runs every stage at once: `input` is the first stage's faasin,
    /// `output` the last stage's faasout, and a pipe of the configured
    /// capacity joins each stage to the next. Returns when every stage has
    /// exited (a stage that exits closes its ends: EOF downstream, a broken
    /// pipe upstream).
    ///
    /// All stages run in the calling task, one fiber each: a byte handed
    /// from one stage to the next wakes nothing on another thread. Two
    /// adjacent native stages are joined by OS pipes and a splice relay
    /// instead (`native/splice.rs`): their bytes never pass through faasrt.
    pub async fn run(self, input: PipeReader, output: PipeWriter) -> PipelineResult {
        let inner = &self.runtime.inner;
        let capacity = inner.config.get_pipe_capacity();
        let count = self.spec.stages.len();
        let mut inputs = vec![StageInput::Pipe(input)];
        let mut outputs = Vec::with_capacity(count);
        let mut relays = Vec::new();
        for pair in self.functions.windows(2) {
            let both_native = pair[0].is_native() && pair[1].is_native();
            match both_native.then(SpliceEdge::new) {
                Some(Ok(edge)) => {
                    let stats = edge.relay.stats.clone();
                    outputs.push(StageOutput::Os(edge.upstream_write, stats.clone()));
                    inputs.push(StageInput::Os(edge.downstream_read, stats));
                    // On a host thread, off the threads that run guests.
                    relays.push(inner.host.spawn(edge.relay.run()));
                    inner.metrics.record_spliced_edge();
                }
                not_spliced => {
                    if let Some(Err(error)) = not_spliced {
                        // Out of descriptors, say: an in-process pipe
                        // serves too, through the bridges.
                        tracing::warn!(%error, "no OS pipes for a native edge; bridging it");
                    }
                    let (writer, reader) = faasrt_host_api::pipe(capacity);
                    outputs.push(StageOutput::Pipe(writer));
                    inputs.push(StageInput::Pipe(reader));
                }
            }
        }
        let mut counters: Vec<_> = inputs
            .iter()
            .filter_map(|input| match input {
                StageInput::Pipe(reader) => Some(reader.counter()),
                StageInput::Os(..) => None,
            })
            .collect();
        counters.push(output.counter());
        let _live = inner.live_pipes.register(counters);
        let _running: Vec<_> = self.functions.iter().map(|f| f.running()).collect();
        outputs.push(StageOutput::Pipe(output));
        let started = Instant::now();
        let runs = self
            .spec
            .stages
            .iter()
            .zip(&self.functions)
            .zip(inputs.into_iter().zip(outputs))
            .map(|((stage, function), (input, output))| {
                let (faasin, stdin, bytes_in) = input.split();
                let (faasout, stdout, bytes_out) = output.split();
                let run = RunRequest {
                    args: std::iter::once(stage.function.clone())
                        .chain(function.info.args.iter().cloned())
                        .chain(stage.args.iter().cloned())
                        .collect(),
                    input: faasin,
                    output: faasout,
                    memory_limit: function.info.limits.memory_bytes(),
                    timeout: function.info.limits.timeout(),
                    kv: crate::invocation::KvUse::Function,
                };
                let os = OsStdio { stdin, stdout };
                async move {
                    let invocation = inner.execute_stage(function, run, os).await;
                    let ended = Instant::now();
                    let result = StageResult {
                        function: stage.function.clone(),
                        args: stage.args.clone(),
                        exit_code: invocation.status.exit_code(),
                        outcome: invocation.status.outcome(),
                        message: invocation.status.failure_message(),
                        bytes_in: 0,
                        bytes_out: 0,
                        duration_us: invocation.duration.as_micros() as u64,
                        log_tail: invocation.log_tail,
                    };
                    let ran = StageRun {
                        ended,
                        usage: invocation.usage,
                        input_edge: bytes_in.edge(),
                        output_edge: bytes_out.edge(),
                        blocked_read: Duration::ZERO,
                        blocked_write: Duration::ZERO,
                    };
                    (result, ran, bytes_in, bytes_out)
                }
            });
        let (ended, _) = futures::join!(
            futures::future::join_all(runs),
            futures::future::join_all(relays)
        );
        // Counted once every relay is done too: a native stage can exit
        // with its last bytes still in its OS pipe, which the splice relay
        // moves (and counts) after it.
        let (stages, runs): (Vec<StageResult>, Vec<StageRun>) = ended
            .into_iter()
            .map(|(mut result, mut ran, bytes_in, bytes_out)| {
                result.bytes_in = bytes_in.get();
                result.bytes_out = bytes_out.get();
                ran.blocked_read = bytes_in.blocked();
                ran.blocked_write = bytes_out.blocked();
                (result, ran)
            })
            .unzip();
        for stage in &stages {
            inner
                .metrics
                .record_stage(&stage.function, stage.outcome, stage.duration_us);
            inner.platform.counters.ended(stage.outcome);
        }
        let duration_us = started.elapsed().as_micros() as u64;
        // Taken last, as an invocation's: what follows is the hand-back.
        let reply = Instant::now();
        self.record(started, reply, &stages, &runs);
        PipelineResult {
            stages,
            duration_us,
        }
    }
}

impl PreparedPipeline {
    /// Journals every stage of the run that began at `started` and whose
    /// result is handed back at `reply`, and keeps their logs.
    fn record(&self, started: Instant, reply: Instant, stages: &[StageResult], runs: &[StageRun]) {
        let inner = &self.runtime.inner;
        let journal = &inner.journal;
        let count = stages.len();
        let arrival_ns = journal.nanos(self.prepared_at);
        let reply_ns = journal.nanos(reply);
        let records = stages
            .iter()
            .zip(runs)
            .zip(&self.functions)
            .enumerate()
            .map(|(index, ((stage, ran), function))| {
                let native = function.is_native();
                InvocationRecord {
                    seq: 0,
                    function: function.journal_name.clone(),
                    kind: if native { "native" } else { "wasm" },
                    start_kind: function.start_kind(),
                    arrival_ns,
                    // Its slot was reserved when the run was prepared.
                    dequeue_ns: arrival_ns,
                    start_ns: journal.nanos(started),
                    ready_ns: journal.nanos(started + ran.usage.ready_after),
                    end_ns: journal.nanos(ran.ended),
                    reply_ns,
                    outcome: stage.outcome.label(),
                    exit_code: stage.exit_code,
                    input_bytes: stage.bytes_in,
                    output_bytes: stage.bytes_out,
                    cpu_ns: ran.usage.cpu.map(|cpu| cpu.as_nanos() as u64),
                    peak_memory_bytes: ran.usage.peak_memory_bytes,
                    cycles: ran.usage.hw.map(|hw| hw.cycles),
                    instructions: ran.usage.hw.map(|hw| hw.instructions),
                    llc_misses: ran.usage.hw.map(|hw| hw.llc_misses),
                    stage: Some(StageRecord {
                        run: 0,
                        index,
                        stages: count,
                        input_edge: if index == 0 { "caller" } else { ran.input_edge },
                        output_edge: if index + 1 == count {
                            "caller"
                        } else {
                            ran.output_edge
                        },
                        blocked_read_ns: nanos(ran.blocked_read),
                        blocked_write_ns: nanos(ran.blocked_write),
                    }),
                    trace: self.trace,
                }
            })
            .collect();
        let seqs = journal.record_run(records);
        for (((seq, stage), ran), function) in
            seqs.into_iter().zip(stages).zip(runs).zip(&self.functions)
        {
            inner.logs.record(LogEntry {
                invocation: seq,
                function: function.journal_name.clone(),
                end_ns: journal.nanos(ran.ended),
                outcome: stage.outcome.label(),
                log: stage.log_tail.clone(),
            });
        }
    }
}

/// What the journal keeps of one stage besides its result.
struct StageRun {
    ended: Instant,
    usage: InvocationUsage,
    input_edge: &'static str,
    output_edge: &'static str,
    /// Its waits on an empty faasin and a full faasout, read once every
    /// relay is done.
    blocked_read: Duration,
    blocked_write: Duration,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Where a stage reads from.
enum StageInput {
    /// An in-process pipe (faasin; a native stage is bridged to it).
    Pipe(PipeReader),
    /// The downstream end of a splice edge, and its relay's counts.
    Os(OwnedFd, Arc<RelayStats>),
}

impl StageInput {
    /// The stage's faasin, its OS stdin if any, and how to count its input.
    fn split(self) -> (Faasin, Option<OwnedFd>, ByteCount) {
        match self {
            StageInput::Pipe(reader) => {
                let count = ByteCount::Read(reader.counter());
                (Faasin::Pipe(reader), None, count)
            }
            StageInput::Os(fd, stats) => {
                (Faasin::Unavailable, Some(fd), ByteCount::RelayedIn(stats))
            }
        }
    }
}

/// Where a stage writes to.
enum StageOutput {
    /// An in-process pipe (faasout; a native stage is bridged to it).
    Pipe(PipeWriter),
    /// The upstream end of a splice edge, and its relay's counts.
    Os(OwnedFd, Arc<RelayStats>),
}

impl StageOutput {
    /// The stage's faasout, its OS stdout if any, and how to count its
    /// output.
    fn split(self) -> (Option<PipeWriter>, Option<OwnedFd>, ByteCount) {
        match self {
            StageOutput::Pipe(writer) => {
                let count = ByteCount::Written(writer.counter());
                (Some(writer), None, count)
            }
            StageOutput::Os(fd, stats) => (None, Some(fd), ByteCount::RelayedOut(stats)),
        }
    }
}

/// A stage's byte count and waits on one of its edges, read when the
/// whole pipeline has ended (relays included).
enum ByteCount {
    /// Its faasin, a pipe it reads.
    Read(PipeCounter),
    /// Its faasout, a pipe it writes.
    Written(PipeCounter),
    /// Its stdin, the downstream end of a splice edge.
    RelayedIn(Arc<RelayStats>),
    /// Its stdout, the upstream end of a splice edge.
    RelayedOut(Arc<RelayStats>),
}

impl ByteCount {
    /// The edge's kind in the journal: `pipe` or `splice`.
    fn edge(&self) -> &'static str {
        match self {
            ByteCount::Read(_) | ByteCount::Written(_) => "pipe",
            ByteCount::RelayedIn(_) | ByteCount::RelayedOut(_) => "splice",
        }
    }

    fn get(&self) -> u64 {
        match self {
            ByteCount::Read(counter) => counter.read(),
            ByteCount::Written(counter) => counter.written(),
            ByteCount::RelayedIn(stats) | ByteCount::RelayedOut(stats) => stats.moved(),
        }
    }

    /// How long the stage waited on this edge, as far as faasrt sees
    /// (`StageRecord::blocked_read_ns`, `blocked_write_ns`).
    fn blocked(&self) -> Duration {
        match self {
            ByteCount::Read(counter) => counter.read_blocked(),
            ByteCount::Written(counter) => counter.write_blocked(),
            ByteCount::RelayedIn(stats) => stats.waited_for_data(),
            ByteCount::RelayedOut(stats) => stats.waited_for_room(),
        }
    }
}
