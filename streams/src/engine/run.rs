//! One run of a stream, from its last checkpoint until it is drained,
//! stopped, rescaled or fails: the tasks and their edges, and the
//! coordinator loop that commits each epoch once the sink has it.

use super::change::{Change, check_replicas, check_stage};
use super::context::RunContext;
use super::inputs::AlignedInputs;
use super::messages::{Failure, Message, Report};
use super::outputs::{Outputs, Route};
use super::pinned::spawn_pinned;
use super::replica::Replica;
use super::sink::run_sink;
use super::source::{Source, SourceCommand};
use super::status::{Phase, Shared};
use crate::error::StreamError;
use crate::router::{RoundRobin, SlotTable};
use crate::spec::Framing;
use crate::store::{Checkpoint, StateChange};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Messages an edge holds before its sender waits (backpressure).
const EDGE_CAPACITY: usize = 16;

/// What the API asks of a running stream.
#[derive(Debug)]
pub(crate) enum Command {
    /// Take a final checkpoint, then stop.
    Drain,
    /// Stop now; the epoch in progress is replayed at the next start.
    Stop,
    /// Rescale or upgrade a stage at the next barrier.
    Change(Change),
    /// Fail the stream now with this reason, without restarting it: its
    /// source cannot go on (a file source that cannot be read).
    Fail(String),
}

/// How a run ended.
#[derive(Debug)]
pub(crate) enum RunEnd {
    /// Drained: the last epoch is committed.
    Drained,
    /// Stopped (or the API went away).
    Stopped,
    /// Rescaled or upgraded at a barrier: start again with the new shape.
    Changed,
    /// A replica, the source or a commit failed.
    Failed {
        /// Where, when a replica.
        at: Option<(usize, usize)>,
        /// How.
        failure: Failure,
    },
}

/// The tasks of a run, aborted when it is dropped.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A started run.
pub(crate) struct Run {
    ctx: Arc<RunContext>,
    shared: Arc<Shared>,
    tables: Vec<Option<SlotTable>>,
    reports: mpsc::UnboundedReceiver<Report>,
    source: mpsc::UnboundedSender<SourceCommand>,
    /// Whether the stream runs a provisional upgrade, to confirm at the
    /// first commit.
    upgrade_pending: bool,
    _tasks: Tasks,
}

/// One edge matrix: `[upstream][downstream]`.
type Edges = Vec<Vec<(mpsc::Sender<Message>, Option<mpsc::Receiver<Message>>)>>;

fn edges(upstreams: usize, downstreams: usize) -> Edges {
    (0..upstreams)
        .map(|_| {
            (0..downstreams)
                .map(|_| {
                    let (send, receive) = mpsc::channel(EDGE_CAPACITY);
                    (send, Some(receive))
                })
                .collect()
        })
        .collect()
}

impl Run {
    /// Starts the tasks of `ctx`'s spec from `checkpoint`, with each keyed
    /// stage routed by `tables`.
    pub(crate) fn start(
        ctx: Arc<RunContext>,
        shared: Arc<Shared>,
        checkpoint: &Checkpoint,
        tables: Vec<Option<SlotTable>>,
        reports: mpsc::UnboundedReceiver<Report>,
        upgrade_pending: bool,
    ) -> Self {
        let stages = &ctx.spec.stages;
        let replicas: Vec<usize> = stages.iter().map(|s| s.replicas as usize).collect();
        // edges[s] feeds stage s; edges[stages] feeds the sink.
        let mut all: Vec<Edges> = (0..=stages.len())
            .map(|s| {
                let upstreams = if s == 0 { 1 } else { replicas[s - 1] };
                let downstreams = replicas.get(s).copied().unwrap_or(1);
                edges(upstreams, downstreams)
            })
            .collect();
        let route_into = |s: usize| -> Route {
            match tables.get(s).cloned().flatten() {
                Some(table) => Route::Keyed {
                    table,
                    key: match ctx.spec.framing {
                        Framing::Lines => ctx.spec.stages[s].key.clone(),
                        Framing::Frames => None,
                    },
                },
                None => Route::RoundRobin(RoundRobin::new(replicas.get(s).copied().unwrap_or(1))),
            }
        };
        let senders = |edges: &Edges, upstream: usize| -> Vec<mpsc::Sender<Message>> {
            edges[upstream]
                .iter()
                .map(|(send, _)| send.clone())
                .collect()
        };
        let mut tasks = Vec::new();
        let (source_commands, commands) = mpsc::unbounded_channel();
        let source = Source {
            ctx: ctx.clone(),
            outputs: Outputs::new(senders(&all[0], 0), route_into(0), ctx.source_stats.clone()),
            offset: checkpoint.source_offset,
            epoch: checkpoint.epoch + 1,
            commands,
            interval: Duration::from_millis(ctx.spec.checkpoint_interval_ms),
        };
        tasks.push(tokio::spawn(source.run()));
        for s in 0..stages.len() {
            for r in 0..replicas[s] {
                let inputs: Vec<_> = all[s]
                    .iter_mut()
                    .map(|row| row[r].1.take().expect("each receiver is taken once"))
                    .collect();
                let outputs = Outputs::new(
                    senders(&all[s + 1], r),
                    route_into(s + 1),
                    ctx.stats[s][r].clone(),
                );
                let inputs = AlignedInputs::new(inputs, Some(ctx.stats[s][r].clone()));
                let replica = Replica::new(ctx.clone(), s, r, inputs, outputs);
                match &stages[s].cpus {
                    None => tasks.push(tokio::spawn(replica.run())),
                    Some(cpus) => {
                        let cpu = cpus[r % cpus.len()];
                        ctx.stats[s][r].pinned_to(cpu);
                        match spawn_pinned(format!("faasrt-{s}.{r}@{cpu}"), cpu, replica.run()) {
                            Ok(task) => tasks.push(task),
                            Err(error) => {
                                let _ = ctx.reports.send(Report::Failed {
                                    stage: s,
                                    replica: r,
                                    failure: Failure {
                                        message: error.to_string(),
                                        exit_code: None,
                                        permanent: true,
                                    },
                                });
                            }
                        }
                    }
                }
            }
        }
        let sink_inputs: Vec<_> = all[stages.len()]
            .iter_mut()
            .map(|row| row[0].1.take().expect("each receiver is taken once"))
            .collect();
        tasks.push(tokio::spawn(run_sink(
            ctx.clone(),
            AlignedInputs::new(sink_inputs, None),
        )));
        // The run's tasks hold every sender they need; these copies go.
        drop(all);
        Run {
            ctx,
            shared,
            tables,
            reports,
            source: source_commands,
            upgrade_pending,
            _tasks: Tasks(tasks),
        }
    }

    /// Asks the source for a final barrier (a drain asked for while the
    /// stream was restarting).
    pub(crate) fn request_drain(&self) {
        let _ = self.source.send(SourceCommand::Drain);
    }

    /// Coordinates the run until it ends.
    pub(crate) async fn supervise(
        mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> RunEnd {
        let mut offsets: HashMap<u64, u64> = HashMap::new();
        let mut changes: HashMap<u64, Vec<StateChange>> = HashMap::new();
        let mut change: Option<Change> = None;
        let mut change_at: Option<u64> = None;
        loop {
            tokio::select! {
                report = self.reports.recv() => {
                    let Some(report) = report else { return RunEnd::Stopped };
                    match report {
                        Report::SourceBarrier { epoch, offset } => {
                            offsets.insert(epoch, offset);
                            if change.is_some() && change_at.is_none() {
                                change_at = Some(epoch);
                            }
                        }
                        Report::Snapshot { epoch, changes: more } => {
                            changes.entry(epoch).or_default().extend(more);
                        }
                        Report::EpochOutput { epoch, records } => {
                            let Some(offset) = offsets.remove(&epoch) else {
                                return failed(None, format!("epoch {epoch} completed without its source offset"));
                            };
                            let epoch_changes = changes.remove(&epoch).unwrap_or_default();
                            if let Err(error) = self.commit(epoch, offset, epoch_changes, records).await {
                                return failed(None, format!("cannot commit epoch {epoch}: {error}"));
                            }
                            if change_at == Some(epoch)
                                && let Some(pending) = change.take()
                            {
                                change_at = None;
                                let (store, name) = (&self.ctx.store, &self.ctx.name);
                                if pending.apply(store, name, &mut self.tables, epoch) {
                                    return RunEnd::Changed;
                                }
                            }
                        }
                        Report::Failed { stage, replica, failure } => {
                            return RunEnd::Failed { at: Some((stage, replica)), failure };
                        }
                        Report::Ended => return RunEnd::Drained,
                    }
                }
                command = commands.recv() => match command {
                    None | Some(Command::Stop) => return RunEnd::Stopped,
                    Some(Command::Fail(message)) => {
                        return RunEnd::Failed {
                            at: None,
                            failure: Failure {
                                message,
                                exit_code: None,
                                permanent: true,
                            },
                        };
                    }
                    Some(Command::Drain) => {
                        self.shared.set_phase(Phase::Draining);
                        let _ = self.source.send(SourceCommand::Drain);
                    }
                    Some(Command::Change(pending)) => {
                        if let Err(error) = self.check_change(&pending) {
                            pending.refuse(error);
                        } else if change.is_some() {
                            pending.refuse(StreamError::WrongState {
                                name: self.ctx.name.clone(),
                                state: "changing",
                                action: "change it again before the current change is done",
                            });
                        } else {
                            change = Some(pending);
                            let _ = self.source.send(SourceCommand::Checkpoint);
                        }
                    }
                },
            }
        }
    }

    fn check_change(&self, change: &Change) -> Result<(), StreamError> {
        let stages = self.ctx.spec.stages.len();
        match change {
            Change::Rescale {
                stage, replicas, ..
            } => {
                check_stage(&self.ctx.name, *stage, stages)?;
                check_replicas(*replicas)
            }
            Change::Upgrade { stage, .. } => check_stage(&self.ctx.name, *stage, stages),
        }
    }

    /// Commits `epoch` and publishes its checkpoint.
    async fn commit(
        &mut self,
        epoch: u64,
        source_offset: u64,
        changes: Vec<StateChange>,
        output: crate::batch::Batch,
    ) -> Result<(), StreamError> {
        if self
            .ctx
            .faults
            .as_ref()
            .is_some_and(|f| f.fail_commit(epoch))
        {
            return Err(StreamError::Corrupt(format!(
                "injected fault in the commit of epoch {epoch}"
            )));
        }
        let checkpoint = Checkpoint {
            epoch,
            source_offset,
            output_end: 0,
            slot_tables: self
                .tables
                .iter()
                .map(|t| t.as_ref().map(|t| t.owners().to_vec()))
                .collect(),
        };
        let store = self.ctx.store.clone();
        let name = self.ctx.name.clone();
        let started = Instant::now();
        let committed = tokio::task::spawn_blocking(move || {
            store.commit_epoch(&name, checkpoint, &changes, &output)
        })
        .await
        .map_err(|e| StreamError::Corrupt(format!("the commit task failed: {e}")))??;
        self.shared.committed(committed, started.elapsed());
        if self.upgrade_pending {
            // An epoch committed with the upgraded function: it stays.
            super::change::confirm_upgrade(&self.ctx.store, &self.ctx.name)?;
            self.upgrade_pending = false;
        }
        Ok(())
    }
}

fn failed(at: Option<(usize, usize)>, message: String) -> RunEnd {
    RunEnd::Failed {
        at,
        failure: Failure {
            message,
            exit_code: None,
            permanent: false,
        },
    }
}
