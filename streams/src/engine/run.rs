//! One run of a stream, from its last checkpoint until it is drained,
//! stopped, rescaled or fails: the tasks and their edges, and the
//! coordinator loop that commits each epoch once the sink has it.

use super::context::RunContext;
use super::inputs::AlignedInputs;
use super::messages::{Failure, Message, Report};
use super::outputs::{Outputs, Route};
use super::replica::Replica;
use super::sink::run_sink;
use super::source::{Source, SourceCommand};
use super::status::{Phase, Shared};
use crate::error::StreamError;
use crate::router::{RoundRobin, SlotMove, SlotTable};
use crate::spec::{Framing, MAX_REPLICAS};
use crate::store::{Checkpoint, StateChange};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
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
    /// Rescale stage `stage` to `replicas` at the next barrier.
    Scale {
        stage: usize,
        replicas: u32,
        done: oneshot::Sender<Result<Rescaled, StreamError>>,
    },
}

/// A rescale, as done.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rescaled {
    /// The stage, counted from 0.
    pub stage: usize,
    /// Its replicas before.
    pub from: u32,
    /// Its replicas now.
    pub replicas: u32,
    /// Slots that changed owner (0 for a stateless stage).
    pub slots_moved: usize,
    /// The epoch at whose barrier it happened.
    pub epoch: u64,
}

/// How a run ended.
#[derive(Debug)]
pub(crate) enum RunEnd {
    /// Drained: the last epoch is committed.
    Drained,
    /// Stopped (or the API went away).
    Stopped,
    /// Rescaled at a barrier: start again with the new replica counts.
    Rescaled,
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
                let replica = Replica::new(ctx.clone(), s, r, AlignedInputs::new(inputs), outputs);
                tasks.push(tokio::spawn(replica.run()));
            }
        }
        let sink_inputs: Vec<_> = all[stages.len()]
            .iter_mut()
            .map(|row| row[0].1.take().expect("each receiver is taken once"))
            .collect();
        tasks.push(tokio::spawn(run_sink(
            ctx.clone(),
            AlignedInputs::new(sink_inputs),
        )));
        // The run's tasks hold every sender they need; these copies go.
        drop(all);
        Run {
            ctx,
            shared,
            tables,
            reports,
            source: source_commands,
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
        let mut rescale: Option<(usize, u32, oneshot::Sender<Result<Rescaled, StreamError>>)> =
            None;
        let mut rescale_at: Option<u64> = None;
        loop {
            tokio::select! {
                report = self.reports.recv() => {
                    let Some(report) = report else { return RunEnd::Stopped };
                    match report {
                        Report::SourceBarrier { epoch, offset } => {
                            offsets.insert(epoch, offset);
                            if rescale.is_some() && rescale_at.is_none() {
                                rescale_at = Some(epoch);
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
                            if rescale_at == Some(epoch)
                                && let Some((stage, replicas, done)) = rescale.take()
                            {
                                let result = self.rescale(stage, replicas, epoch);
                                let ok = result.is_ok();
                                let _ = done.send(result);
                                if ok {
                                    return RunEnd::Rescaled;
                                }
                                rescale_at = None;
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
                    Some(Command::Drain) => {
                        self.shared.set_phase(Phase::Draining);
                        let _ = self.source.send(SourceCommand::Drain);
                    }
                    Some(Command::Scale { stage, replicas, done }) => {
                        if let Err(error) = self.check_scale(stage, replicas) {
                            let _ = done.send(Err(error));
                        } else if rescale.is_some() {
                            let _ = done.send(Err(StreamError::WrongState {
                                name: self.ctx.name.clone(),
                                state: "rescaling",
                                action: "rescale again before the current rescale is done",
                            }));
                        } else {
                            rescale = Some((stage, replicas, done));
                            let _ = self.source.send(SourceCommand::Checkpoint);
                        }
                    }
                },
            }
        }
    }

    fn check_scale(&self, stage: usize, replicas: u32) -> Result<(), StreamError> {
        let stages = self.ctx.spec.stages.len();
        if stage >= stages {
            return Err(StreamError::NoSuchStage {
                name: self.ctx.name.clone(),
                index: stage,
                stages,
            });
        }
        if replicas == 0 || replicas > MAX_REPLICAS {
            return Err(StreamError::Replicas {
                replicas,
                max: MAX_REPLICAS,
            });
        }
        Ok(())
    }

    /// Commits `epoch` and publishes its checkpoint.
    async fn commit(
        &self,
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
        Ok(())
    }

    /// Stores stage `stage` at `replicas`, with its slot table rescaled so
    /// that the fewest slots move.
    fn rescale(
        &mut self,
        stage: usize,
        replicas: u32,
        epoch: u64,
    ) -> Result<Rescaled, StreamError> {
        let store = &self.ctx.store;
        let name = &self.ctx.name;
        let mut stored = store
            .stream(name)?
            .ok_or_else(|| StreamError::NotFound { name: name.clone() })?;
        let from = stored.spec.stages[stage].replicas;
        let mut moves: Vec<SlotMove> = Vec::new();
        if let Some(Some(table)) = self.tables.get(stage) {
            let (table, moved) = table
                .rescale(replicas as usize)
                .map_err(|e| StreamError::Corrupt(e.to_string()))?;
            moves = moved;
            self.tables[stage] = Some(table);
        }
        stored.spec.stages[stage].replicas = replicas;
        store.set_slot_tables(
            name,
            self.tables
                .iter()
                .map(|t| t.as_ref().map(|t| t.owners().to_vec()))
                .collect(),
        )?;
        store.put_stream(name, &stored, false)?;
        Ok(Rescaled {
            stage,
            from,
            replicas,
            slots_moved: moves.len(),
            epoch,
        })
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
