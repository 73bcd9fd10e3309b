//! A running stream's supervisor: it starts a run from the last
//! checkpoint, and when the run fails it rolls the whole stream back to
//! that checkpoint and starts again, with backoff (10 ms doubling to 1 s),
//! until 5 failures within 60 s (or one that restarting cannot mend) make
//! the stream `failed` with the cause.

use super::context::RunContext;
use super::run::{Command, Run, RunEnd};
use super::status::{FailureReport, Phase, Shared};
use crate::error::StreamError;
use crate::faults::FaultInjector;
use crate::router::SlotTable;
use crate::spec::StreamSpec;
use crate::store::{Checkpoint, StreamStore};
use faasrt_runtime::Runtime;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Failures within [`FAILURE_WINDOW`] that fail the stream, by default.
pub const MAX_FAILURES: usize = 5;
/// The window [`MAX_FAILURES`] counts in, by default.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// When restarting gives up: `max_failures` failures within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Failures within the window that fail the stream.
    pub max_failures: usize,
    /// The window.
    pub window: Duration,
    /// The wait before the first restart; it doubles with each failure in
    /// the window, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest wait before a restart.
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            max_failures: MAX_FAILURES,
            window: FAILURE_WINDOW,
            first_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
        }
    }
}
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What a stream's supervisor needs.
pub(crate) struct StreamEnv {
    pub name: String,
    pub runtime: Runtime,
    pub store: Arc<StreamStore>,
    pub shared: Arc<Shared>,
    pub faults: Option<Arc<dyn FaultInjector>>,
    pub max_record_bytes: usize,
    pub policy: RestartPolicy,
}

/// Supervises the stream until it is drained, stopped or failed.
pub(crate) async fn supervise(env: StreamEnv, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut failures: VecDeque<Instant> = VecDeque::new();
    let mut drain_requested = false;
    loop {
        let started = match start(&env) {
            Ok(started) => started,
            Err(error) => {
                finish_failed(&env, None, format!("cannot start: {error}"), None);
                return;
            }
        };
        env.shared.set_phase(if drain_requested {
            Phase::Draining
        } else {
            Phase::Running
        });
        if drain_requested {
            started.request_drain();
        }
        match started.supervise(&mut commands).await {
            RunEnd::Drained => {
                persist_stopped(&env, None);
                env.shared.set_phase(Phase::Stopped);
                return;
            }
            RunEnd::Stopped => {
                env.shared.set_phase(Phase::Stopped);
                return;
            }
            RunEnd::Changed => continue,
            RunEnd::Failed { at, failure } => {
                tracing::warn!(stream = %env.name, failure = %failure.message, "stream failed; rolling back to its last checkpoint");
                if let Some((stage, _)) = at {
                    match super::change::roll_back_upgrade(&env.store, &env.name, stage) {
                        Ok(Some((upgrade, failed))) => {
                            tracing::warn!(stream = %env.name, stage, %failed, previous = %upgrade.previous_function, "the upgraded stage failed in its first epoch; rolled back");
                            env.shared.set_failure(Some(FailureReport {
                                message: format!(
                                    "the upgrade of stage {stage} to {failed} was rolled back to {}: {}",
                                    upgrade.previous_function, failure.message
                                ),
                                stage: Some(stage),
                                replica: at.map(|(_, replica)| replica),
                                exit_code: failure.exit_code,
                            }));
                            env.shared.restarted();
                            continue;
                        }
                        Ok(None) => {}
                        Err(error) => {
                            finish_failed(
                                &env,
                                at,
                                format!("cannot roll back an upgrade: {error}"),
                                None,
                            );
                            return;
                        }
                    }
                }
                let report = FailureReport {
                    message: failure.message.clone(),
                    stage: at.map(|(stage, _)| stage),
                    replica: at.map(|(_, replica)| replica),
                    exit_code: failure.exit_code,
                };
                if let Some((stage, replica)) = at
                    && let Some(stats) = env.shared.stats().get(stage).and_then(|s| s.get(replica))
                {
                    stats.restarted();
                }
                let now = Instant::now();
                failures.push_back(now);
                while failures
                    .front()
                    .is_some_and(|at| now - *at > env.policy.window)
                {
                    failures.pop_front();
                }
                if failure.permanent || failures.len() >= env.policy.max_failures {
                    let why = if failure.permanent {
                        failure.message.clone()
                    } else {
                        format!(
                            "{} failures within {} s, the last: {}",
                            failures.len(),
                            env.policy.window.as_secs(),
                            failure.message
                        )
                    };
                    finish_failed(&env, at, why, failure.exit_code);
                    return;
                }
                env.shared.set_failure(Some(report));
                env.shared.restarted();
                env.shared.set_phase(Phase::Restarting);
                let doublings = (failures.len() as u32 - 1).min(10);
                let backoff = env.policy.first_backoff * 2u32.pow(doublings);
                let sleep = tokio::time::sleep(backoff.min(env.policy.max_backoff));
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        command = commands.recv() => match command {
                            None | Some(Command::Stop) => {
                                env.shared.set_phase(Phase::Stopped);
                                return;
                            }
                            Some(Command::Drain) => drain_requested = true,
                            Some(Command::Fail(message)) => {
                                finish_failed(&env, None, message, None);
                                return;
                            }
                            Some(Command::Change(change)) => {
                                change.refuse(StreamError::WrongState {
                                    name: env.name.clone(),
                                    state: "restarting",
                                    action: "rescale or upgrade it",
                                });
                            }
                        },
                    }
                }
            }
        }
    }
}

/// Starts a run from the stream's last checkpoint.
fn start(env: &StreamEnv) -> Result<Run, StreamError> {
    let stored = env
        .store
        .stream(&env.name)?
        .ok_or_else(|| StreamError::NotFound {
            name: env.name.clone(),
        })?;
    let checkpoint = env.store.checkpoint(&env.name)?;
    let tables = slot_tables(&stored.spec, &checkpoint)?;
    let upgrade_pending = stored.upgrade.is_some();
    let (reports, receive) = mpsc::unbounded_channel();
    let ctx = Arc::new(RunContext {
        name: env.name.clone(),
        runtime: env.runtime.clone(),
        store: env.store.clone(),
        stats: env.shared.stats_for(&stored.spec),
        processed: env.shared.processed_for(stored.spec.stages.len()),
        spec: stored.spec,
        digests: stored.digests,
        reports,
        faults: env.faults.clone(),
        source_stats: env.shared.source_stats.clone(),
        appended: env.shared.appended.clone(),
        max_record_bytes: env.max_record_bytes,
    });
    Ok(Run::start(
        ctx,
        env.shared.clone(),
        &checkpoint,
        tables,
        receive,
        upgrade_pending,
    ))
}

/// Each keyed stage's slot table: the committed one, rescaled (fewest
/// moves) if the spec's replica count changed since; a new one for a
/// stage that has none yet.
pub(crate) fn slot_tables(
    spec: &StreamSpec,
    checkpoint: &Checkpoint,
) -> Result<Vec<Option<SlotTable>>, StreamError> {
    spec.stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            if stage.key.is_none() {
                return Ok(None);
            }
            let replicas = stage.replicas as usize;
            let corrupt = |e: crate::router::SlotTableError| StreamError::Corrupt(e.to_string());
            let table = match checkpoint.slot_tables.get(index).cloned().flatten() {
                Some(owners) => {
                    let had = owners.iter().map(|o| *o as usize + 1).max().unwrap_or(1);
                    let table = SlotTable::from_owners(owners, had).map_err(corrupt)?;
                    if had == replicas {
                        table
                    } else {
                        table.rescale(replicas).map_err(corrupt)?.0
                    }
                }
                None => SlotTable::new(replicas).map_err(corrupt)?,
            };
            Ok(Some(table))
        })
        .collect()
}

fn persist_stopped(env: &StreamEnv, failure: Option<String>) {
    let result = env.store.stream(&env.name).and_then(|stored| match stored {
        Some(mut stored) => {
            stored.running = false;
            stored.failure = failure;
            env.store.put_stream(&env.name, &stored, false)
        }
        None => Ok(()),
    });
    if let Err(error) = result {
        tracing::error!(stream = %env.name, %error, "cannot record that the stream stopped");
    }
}

fn finish_failed(
    env: &StreamEnv,
    at: Option<(usize, usize)>,
    message: String,
    exit_code: Option<i32>,
) {
    tracing::error!(stream = %env.name, failure = %message, "stream failed");
    env.shared.set_failure(Some(FailureReport {
        message: message.clone(),
        stage: at.map(|(stage, _)| stage),
        replica: at.map(|(_, replica)| replica),
        exit_code,
    }));
    persist_stopped(env, Some(message));
    env.shared.set_phase(Phase::Failed);
}
