//! Where a task sends what it emits: one channel per downstream replica,
//! the replica chosen by the downstream stage's routing (round-robin per
//! batch for a stateless stage, by the key's slot for a keyed one), and
//! barriers and the end sent to all of them.

use super::messages::{Failure, Message};
use super::stats::ReplicaStats;
use crate::batch::Batch;
use crate::framing::key_field;
use crate::router::{RoundRobin, SlotTable};
use crate::spec::KeySpec;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// How records choose their downstream replica.
pub(crate) enum Route {
    /// Whole batches, in turn (a stateless downstream, or the sink).
    RoundRobin(RoundRobin),
    /// Each record to the owner of its key's slot; `key` is the field of
    /// a `lines` record, `None` for frames (which carry their key).
    Keyed {
        /// The downstream's slot table.
        table: SlotTable,
        /// Where a line's key is.
        key: Option<KeySpec>,
    },
}

/// The downstream edges of one task.
pub(crate) struct Outputs {
    senders: Vec<mpsc::Sender<Message>>,
    route: Route,
    stats: Arc<ReplicaStats>,
}

/// The run is being torn down: a downstream is gone.
#[derive(Debug)]
pub(crate) struct Closed;

impl Outputs {
    /// Edges to `senders`, routed by `route`, counted in `stats`.
    pub(crate) fn new(
        senders: Vec<mpsc::Sender<Message>>,
        route: Route,
        stats: Arc<ReplicaStats>,
    ) -> Self {
        Outputs {
            senders,
            route,
            stats,
        }
    }

    /// Sends `records` downstream, in order per downstream replica.
    ///
    /// # Errors
    /// `Err(Ok(Failure))` when a record has no key where its downstream
    /// needs one (the emitting function's fault); `Err(Err(Closed))` when
    /// the run is being torn down.
    pub(crate) async fn send(&mut self, records: Batch) -> Result<(), Result<Failure, Closed>> {
        if records.is_empty() {
            return Ok(());
        }
        match &mut self.route {
            Route::RoundRobin(turn) => {
                let to = turn.next_replica();
                self.deliver(to, records).await.map_err(Err)
            }
            Route::Keyed { table, key } => {
                if self.senders.len() == 1 {
                    if let Some(key) = key {
                        check_keys(&records, key)?;
                    }
                    return self.deliver(0, records).await.map_err(Err);
                }
                let share = records.bytes() / self.senders.len() + 64;
                let mut parts: Vec<Batch> = (0..self.senders.len())
                    .map(|_| Batch::with_capacity(records.len() / self.senders.len() + 1, share))
                    .collect();
                for record in records.iter() {
                    let found = match key {
                        Some(key) => {
                            key_field(record.value, key).ok_or_else(|| Ok(missing_key(key)))?
                        }
                        None => record.key,
                    };
                    parts[table.owner_of_key(found)].push(record.key, record.value);
                }
                for (to, part) in parts.into_iter().enumerate() {
                    if !part.is_empty() {
                        self.deliver(to, part).await.map_err(Err)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends `message` (a barrier or the end) to every downstream replica.
    ///
    /// # Errors
    /// [`Closed`] when the run is being torn down.
    pub(crate) async fn broadcast(&mut self, message: impl Fn() -> Message) -> Result<(), Closed> {
        for sender in &self.senders {
            self.stats
                .backpressure_of(sender.send(message()))
                .await
                .map_err(|_| Closed)?;
        }
        Ok(())
    }

    async fn deliver(&self, to: usize, records: Batch) -> Result<(), Closed> {
        let records_count = records.len();
        let bytes = records.bytes();
        self.stats
            .backpressure_of(self.senders[to].send(Message::Records(records, Instant::now())))
            .await
            .map_err(|_| Closed)?;
        self.stats.emitted(records_count, bytes);
        Ok(())
    }
}

/// Checks that every line has the key field its downstream needs.
fn check_keys(records: &Batch, key: &KeySpec) -> Result<(), Result<Failure, Closed>> {
    if records.iter().all(|r| key_field(r.value, key).is_some()) {
        Ok(())
    } else {
        Err(Ok(missing_key(key)))
    }
}

fn missing_key(key: &KeySpec) -> Failure {
    Failure {
        message: format!(
            "emitted a record without field {} (split at {:?}), the key of the keyed stage after it",
            key.field.unwrap_or(0),
            key.delimiter
        ),
        exit_code: None,
        permanent: false,
    }
}

impl ReplicaStats {
    /// Awaits `send`, counting the wait as backpressure when the channel
    /// was full.
    async fn backpressure_of<T>(&self, send: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = send.await;
        let took = started.elapsed();
        if took.as_micros() > 50 {
            self.backpressured(took);
        }
        result
    }
}
