//! Rescaling and upgrading a stage of a stream: sent to a running
//! stream's coordinator for its next barrier, or stored at once for a
//! stopped one.

use super::{SETTLE_TIMEOUT, Streams};
use crate::engine::change::{self, Change, Rescaled, Upgraded};
use crate::engine::run::Command;
use crate::engine::supervisor::slot_tables;
use crate::error::StreamError;
use tokio::sync::oneshot;

impl Streams {
    /// Rescales stage `stage` (counted from 0) to `replicas`: for a running
    /// stream at its next barrier, moving the fewest slots; for a stopped
    /// one in its stored spec.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::NoSuchStage`],
    /// [`StreamError::Replicas`], [`StreamError::WrongState`] when it is
    /// restarting or not settled within [`SETTLE_TIMEOUT`].
    pub async fn scale(
        &self,
        name: &str,
        stage: usize,
        replicas: u32,
    ) -> Result<Rescaled, StreamError> {
        let stored = self.stored(name)?;
        change::check_stage(name, stage, stored.spec.stages.len())?;
        change::check_replicas(replicas)?;
        if self.is_running(name) {
            let (done, answer) = oneshot::channel();
            let pending = Change::Rescale {
                stage,
                replicas,
                done,
            };
            self.send(name, Command::Change(pending), "rescale")?;
            return self.answer(name, answer, "rescale").await;
        }
        let checkpoint = self.inner.store.checkpoint(name)?;
        let mut tables = slot_tables(&stored.spec, &checkpoint)?;
        change::rescale(
            &self.inner.store,
            name,
            &mut tables,
            stage,
            replicas,
            checkpoint.epoch,
        )
    }

    /// Upgrades stage `stage` (counted from 0) to `function` as deployed now
    /// (another name, or a new version under the same name), keeping its
    /// state: for a running stream at its next barrier, for a stopped one
    /// at once. The upgrade is provisional until an epoch commits with it:
    /// if the stage fails first, the previous function is put back (which
    /// needs it still deployed: upgrade to a new name to keep that
    /// possible).
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::NoSuchStage`],
    /// [`StreamError::UnknownFunction`], [`StreamError::WrongState`] when
    /// it is restarting or not settled within [`SETTLE_TIMEOUT`].
    pub async fn upgrade(
        &self,
        name: &str,
        stage: usize,
        function: &str,
    ) -> Result<Upgraded, StreamError> {
        let stored = self.stored(name)?;
        change::check_stage(name, stage, stored.spec.stages.len())?;
        let digest = self
            .inner
            .runtime
            .get(function)
            .map_err(|_| StreamError::UnknownFunction {
                stage: stage + 1,
                function: function.to_owned(),
            })?
            .digest;
        if self.is_running(name) {
            let (done, answer) = oneshot::channel();
            let pending = Change::Upgrade {
                stage,
                function: function.to_owned(),
                digest,
                done,
            };
            self.send(name, Command::Change(pending), "upgrade")?;
            return self.answer(name, answer, "upgrade").await;
        }
        let epoch = self.inner.store.checkpoint(name)?.epoch;
        change::upgrade(
            &self.inner.store,
            name,
            stage,
            function.to_owned(),
            digest,
            epoch,
        )
    }

    async fn answer<T>(
        &self,
        name: &str,
        answer: oneshot::Receiver<Result<T, StreamError>>,
        action: &'static str,
    ) -> Result<T, StreamError> {
        match tokio::time::timeout(SETTLE_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            _ => Err(StreamError::WrongState {
                name: name.to_owned(),
                state: self.shared(name)?.phase().label(),
                action: match action {
                    "upgrade" => "upgrade it (it did not reach a barrier in time)",
                    _ => "rescale it (it did not reach a barrier in time)",
                },
            }),
        }
    }
}
