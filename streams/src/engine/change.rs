//! Changes to a stream's shape that take effect at a barrier: rescaling a
//! stage and upgrading a stage to another function (version). Both are
//! stored right after the barrier's epoch committed, and the stream starts
//! again from that checkpoint; a stopped stream takes them at once.
//!
//! An upgrade is provisional until an epoch commits with the new function:
//! if that stage fails first, the supervisor puts the previous function
//! back ([`roll_back_upgrade`]).

use crate::error::StreamError;
use crate::router::SlotTable;
use crate::spec::MAX_REPLICAS;
use crate::store::{PendingUpgrade, StreamStore};
use serde::Serialize;
use tokio::sync::oneshot;

/// A rescale, as done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// An upgrade, as done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upgraded {
    /// The stage, counted from 0.
    pub stage: usize,
    /// The function it ran.
    pub from: String,
    /// The function it runs now.
    pub function: String,
    /// The digest pinned for it.
    pub digest: String,
    /// The epoch at whose barrier it happened.
    pub epoch: u64,
}

/// A change waiting for its barrier, with where its answer goes.
#[derive(Debug)]
pub(crate) enum Change {
    Rescale {
        stage: usize,
        replicas: u32,
        done: oneshot::Sender<Result<Rescaled, StreamError>>,
    },
    Upgrade {
        stage: usize,
        function: String,
        digest: String,
        done: oneshot::Sender<Result<Upgraded, StreamError>>,
    },
}

impl Change {
    /// Stores the change after epoch `epoch` committed and answers its
    /// caller; whether it was stored.
    pub(crate) fn apply(
        self,
        store: &StreamStore,
        name: &str,
        tables: &mut [Option<SlotTable>],
        epoch: u64,
    ) -> bool {
        match self {
            Change::Rescale {
                stage,
                replicas,
                done,
            } => {
                let result = rescale(store, name, tables, stage, replicas, epoch);
                let ok = result.is_ok();
                let _ = done.send(result);
                ok
            }
            Change::Upgrade {
                stage,
                function,
                digest,
                done,
            } => {
                let result = upgrade(store, name, stage, function, digest, epoch);
                let ok = result.is_ok();
                let _ = done.send(result);
                ok
            }
        }
    }

    /// Answers the caller that the change cannot be made now.
    pub(crate) fn refuse(self, error: StreamError) {
        match self {
            Change::Rescale { done, .. } => {
                let _ = done.send(Err(error));
            }
            Change::Upgrade { done, .. } => {
                let _ = done.send(Err(error));
            }
        }
    }
}

/// Checks that `stage` exists in a stream of `stages` stages.
pub(crate) fn check_stage(name: &str, stage: usize, stages: usize) -> Result<(), StreamError> {
    if stage >= stages {
        return Err(StreamError::NoSuchStage {
            name: name.to_owned(),
            index: stage,
            stages,
        });
    }
    Ok(())
}

/// Checks a replica count.
pub(crate) fn check_replicas(replicas: u32) -> Result<(), StreamError> {
    if replicas == 0 || replicas > MAX_REPLICAS {
        return Err(StreamError::Replicas {
            replicas,
            max: MAX_REPLICAS,
        });
    }
    Ok(())
}

/// Stores stage `stage` at `replicas`, its slot table in `tables` rescaled
/// so that the fewest slots move.
pub(crate) fn rescale(
    store: &StreamStore,
    name: &str,
    tables: &mut [Option<SlotTable>],
    stage: usize,
    replicas: u32,
    epoch: u64,
) -> Result<Rescaled, StreamError> {
    let mut stored = store.stream(name)?.ok_or_else(|| StreamError::NotFound {
        name: name.to_owned(),
    })?;
    let from = stored.spec.stages[stage].replicas;
    let mut slots_moved = 0;
    if let Some(Some(table)) = tables.get(stage) {
        let (table, moves) = table
            .rescale(replicas as usize)
            .map_err(|e| StreamError::Corrupt(e.to_string()))?;
        slots_moved = moves.len();
        tables[stage] = Some(table);
    }
    stored.spec.stages[stage].replicas = replicas;
    store.set_slot_tables(
        name,
        tables
            .iter()
            .map(|t| t.as_ref().map(|t| t.owners().to_vec()))
            .collect(),
    )?;
    store.put_stream(name, &stored, false)?;
    Ok(Rescaled {
        stage,
        from,
        replicas,
        slots_moved,
        epoch,
    })
}

/// Stores stage `stage` as running `function` at `digest`, remembering
/// what it ran before until an epoch commits with it.
pub(crate) fn upgrade(
    store: &StreamStore,
    name: &str,
    stage: usize,
    function: String,
    digest: String,
    epoch: u64,
) -> Result<Upgraded, StreamError> {
    let mut stored = store.stream(name)?.ok_or_else(|| StreamError::NotFound {
        name: name.to_owned(),
    })?;
    let from = std::mem::replace(&mut stored.spec.stages[stage].function, function.clone());
    let previous_digest = std::mem::replace(&mut stored.digests[stage], digest.clone());
    stored.upgrade = Some(PendingUpgrade {
        stage,
        previous_function: from.clone(),
        previous_digest,
    });
    store.put_stream(name, &stored, false)?;
    Ok(Upgraded {
        stage,
        from,
        function,
        digest,
        epoch,
    })
}

/// Puts back the function a provisional upgrade of `stage` replaced;
/// returns the upgrade rolled back, or `None` when no upgrade of that stage
/// is provisional.
pub(crate) fn roll_back_upgrade(
    store: &StreamStore,
    name: &str,
    stage: usize,
) -> Result<Option<(PendingUpgrade, String)>, StreamError> {
    let Some(mut stored) = store.stream(name)? else {
        return Ok(None);
    };
    let Some(upgrade) = stored.upgrade.take().filter(|u| u.stage == stage) else {
        return Ok(None);
    };
    let failed = std::mem::replace(
        &mut stored.spec.stages[stage].function,
        upgrade.previous_function.clone(),
    );
    stored.digests[stage] = upgrade.previous_digest.clone();
    store.put_stream(name, &stored, false)?;
    Ok(Some((upgrade, failed)))
}

/// Makes a provisional upgrade final: an epoch committed with it.
pub(crate) fn confirm_upgrade(store: &StreamStore, name: &str) -> Result<(), StreamError> {
    if let Some(mut stored) = store.stream(name)?
        && stored.upgrade.take().is_some()
    {
        store.put_stream(name, &stored, false)?;
    }
    Ok(())
}
