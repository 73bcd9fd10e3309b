//! One replica of one stage: it takes batches from its aligned inputs,
//! runs its function once per batch, routes what the function emits, and
//! at each aligned barrier hands its state changes to the coordinator and
//! passes the barrier on.
//!
//! Two ways to run a batch:
//! - a stateless stage of a `lines` stream is an unmodified UNIX filter:
//!   the batch's lines are its `faasin`, and its `faasout`, cut into lines,
//!   is what it emits;
//! - every other stage speaks the record protocol (`protocol.rs`), with
//!   the state of the batch's keys for a keyed stage.

use super::context::RunContext;
use super::inputs::{AlignedInputs, Event};
use super::keyed_state::KeyedState;
use super::messages::{Failure, Message, Report};
use super::outputs::{Closed, Outputs};
use super::stats::ReplicaStats;
use crate::batch::Batch;
use crate::framing::key_field;
use crate::protocol::{EffectRef, ProtocolError, encode_batch, for_each_effect};
use crate::spec::{Framing, StageSpec};
use bytes::Bytes;
use faasrt_runtime::{Invocation, InvokeRequest, RuntimeError};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A replica's ending that is not the end of its stream.
type Stop = Result<Failure, Closed>;

/// One replica, ready to run.
pub(crate) struct Replica {
    ctx: Arc<RunContext>,
    stage: usize,
    index: usize,
    inputs: AlignedInputs,
    outputs: Outputs,
    /// Present for a keyed stage.
    state: Option<KeyedState>,
    stats: Arc<ReplicaStats>,
}

impl Replica {
    /// Replica `index` of stage `stage`.
    pub(crate) fn new(
        ctx: Arc<RunContext>,
        stage: usize,
        index: usize,
        inputs: AlignedInputs,
        outputs: Outputs,
    ) -> Self {
        let state = ctx.spec.stages[stage]
            .key
            .is_some()
            .then(|| KeyedState::new(stage as u32));
        let stats = ctx.stats[stage][index].clone();
        Replica {
            ctx,
            stage,
            index,
            inputs,
            outputs,
            state,
            stats,
        }
    }

    /// Runs until the stream ends, the run is torn down, or it fails (which
    /// it reports).
    pub(crate) async fn run(mut self) {
        loop {
            let waiting = Instant::now();
            let Ok(event) = self.inputs.next().await else {
                return;
            };
            self.stats.idle(waiting.elapsed());
            let step = match event {
                Event::Records(records) => {
                    let processed = self.process(records).await;
                    if processed.is_ok() && self.inputs.has_ready() {
                        // More to do at once: let what was just sent run
                        // elsewhere meanwhile (`hand_off.rs`).
                        super::hand_off::hand_off().await;
                    }
                    processed
                }
                Event::Aligned(epoch) => {
                    if let Some(state) = &mut self.state {
                        let changes = state.take_changes();
                        if !changes.is_empty() {
                            let _ = self.ctx.reports.send(Report::Snapshot { epoch, changes });
                        }
                    }
                    self.outputs
                        .broadcast(|| Message::Barrier(epoch))
                        .await
                        .map_err(Err)
                }
                Event::Ended => {
                    let _ = self.outputs.broadcast(|| Message::End).await;
                    return;
                }
            };
            if let Err(stop) = step {
                if let Ok(failure) = stop {
                    let _ = self.ctx.reports.send(Report::Failed {
                        stage: self.stage,
                        replica: self.index,
                        failure,
                    });
                }
                return;
            }
        }
    }

    fn spec(&self) -> &StageSpec {
        &self.ctx.spec.stages[self.stage]
    }

    /// Runs one batch and sends what it emitted.
    async fn process(&mut self, records: Batch) -> Result<(), Stop> {
        self.stats.received(records.len(), records.bytes());
        let processed = self.ctx.processed[self.stage].fetch_add(records.len() as u64, Relaxed);
        if let Some(fault) = self
            .ctx
            .faults
            .as_ref()
            .and_then(|f| f.before_batch(self.stage, self.index, processed, records.len()))
        {
            return Err(Ok(
                self.failure(fault.describe().to_owned(), Some(fault.exit_code()))
            ));
        }
        let filter = self.ctx.spec.framing == Framing::Lines && self.state.is_none();
        let emitted = if filter {
            match records.into_values() {
                Ok(input) => {
                    let invocation = self.invoke(input).await?;
                    Batch::from_lines(Vec::from(invocation.output), self.ctx.max_record_bytes)
                        .map_err(|_| Ok(self.too_large()))?
                }
                Err(records) => self.run_records(&records).await?,
            }
        } else {
            self.run_records(&records).await?
        };
        self.outputs.send(emitted).await
    }

    /// Runs a batch in the record protocol and applies its effects.
    async fn run_records(&mut self, records: &Batch) -> Result<Batch, Stop> {
        let keys = self.keys_of(records)?;
        // Each key once, in the order first met, and each record's index.
        let mut index_of: foldhash::HashMap<&[u8], u32> = foldhash::HashMap::default();
        let mut batch_keys: Vec<&[u8]> = Vec::new();
        let indices: Vec<u32> = keys
            .iter()
            .map(|key| {
                *index_of.entry(key).or_insert_with(|| {
                    batch_keys.push(key);
                    (batch_keys.len() - 1) as u32
                })
            })
            .collect();
        if let Some(state) = &mut self.state
            && let Err(error) = state.load(&self.ctx.store, &self.ctx.name, &batch_keys)
        {
            let message = format!("cannot read its state: {error}");
            return Err(Ok(self.failure(message, None)));
        }
        let with_values: Vec<(&[u8], Option<&[u8]>)> = batch_keys
            .iter()
            .map(|key| (*key, self.state.as_ref().and_then(|state| state.get(key))))
            .collect();
        let mut input = Vec::with_capacity(records.bytes() + 16 * records.len() + 16);
        let pairs = indices
            .iter()
            .zip(records.iter())
            .map(|(index, record)| (*index, record.value));
        encode_batch(&with_values, pairs, &mut input);
        drop(with_values);
        let invocation = self.invoke(input).await?;
        let lines = self.ctx.spec.framing == Framing::Lines;
        let max = self.ctx.max_record_bytes;
        let mut emitted = Batch::with_capacity(records.len(), records.bytes());
        let mut writes: Vec<(&[u8], Option<&[u8]>)> = Vec::new();
        let applied = for_each_effect(&invocation.output, |effect| match effect {
            EffectRef::Emit { key, value } => {
                if lines {
                    let newline: &[u8] = if value.ends_with(b"\n") { b"" } else { b"\n" };
                    if value.len() + newline.len() > max {
                        return Err(Applied::TooLarge);
                    }
                    emitted.push_parts(b"", &[value, newline]);
                } else {
                    emitted.push(key, value);
                }
                Ok(())
            }
            EffectRef::Put { key, value } => {
                writes.push((key, Some(value)));
                Ok(())
            }
            EffectRef::Delete { key } => {
                writes.push((key, None));
                Ok(())
            }
        });
        match applied {
            Ok(()) => {}
            Err(Applied::TooLarge) => return Err(Ok(self.too_large())),
            Err(Applied::Protocol(error)) => return Err(Ok(self.refused(error.to_string()))),
        }
        if writes.is_empty() {
            return Ok(emitted);
        }
        if self.state.is_none() {
            return Err(Ok(self.refused(
                "wrote state, but the stage is not keyed: give it a \"key\" in the spec".into(),
            )));
        }
        if let Some((key, _)) = writes.iter().find(|(key, _)| !index_of.contains_key(key)) {
            return Err(Ok(self.refused(format!(
                "wrote the state of key {:?}, which is not a key of its batch: state is scoped to the record's key",
                String::from_utf8_lossy(key)
            ))));
        }
        if let Some(state) = &mut self.state {
            for (key, value) in writes {
                state.set(key, value);
            }
        }
        Ok(emitted)
    }

    /// Each record's key: its field for a keyed `lines` stage, the frame's
    /// key otherwise (empty for an unkeyed line).
    fn keys_of<'a>(&self, records: &'a Batch) -> Result<Vec<&'a [u8]>, Stop> {
        let key = self.spec().key.as_ref().filter(|k| k.field.is_some());
        records
            .iter()
            .map(|record| match key {
                Some(key) => key_field(record.value, key).ok_or_else(|| {
                    Ok(self.failure(
                        format!(
                            "a record without field {} (split at {:?}), its key",
                            key.field.unwrap_or(0),
                            key.delimiter
                        ),
                        None,
                    ))
                }),
                None => Ok(record.key),
            })
            .collect()
    }

    /// Invokes the stage's function on `input`, waiting while the server
    /// is at its instance limit.
    async fn invoke(&self, input: Vec<u8>) -> Result<Invocation, Stop> {
        let spec = self.spec();
        let request = InvokeRequest {
            args: spec.args.clone(),
            input: Bytes::from(input),
            digest: Some(self.ctx.digests[self.stage].clone()),
            // A stage's state is the stream's (checkpointed with the
            // records), not its function's: the kv imports are refused.
            kv: faasrt_runtime::KvUse::Refused,
            trace: None,
        };
        let mut wait = Duration::from_micros(200);
        loop {
            let started = Instant::now();
            match self
                .ctx
                .runtime
                .invoke(&spec.function, request.clone())
                .await
            {
                Ok(invocation) => {
                    self.stats
                        .invoked(started.elapsed(), invocation.status.exit_code());
                    if let Some(message) = invocation.status.failure_message() {
                        let mut message = message;
                        if let Some(last) = invocation.log_tail.lines().last() {
                            message.push_str(&format!(" (log: {last})"));
                        }
                        return Err(Ok(
                            self.failure(message, Some(invocation.status.exit_code()))
                        ));
                    }
                    return Ok(invocation);
                }
                Err(RuntimeError::Busy { .. } | RuntimeError::FunctionBusy { .. }) => {
                    if self.ctx.reports.is_closed() {
                        return Err(Err(Closed));
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(20));
                }
                Err(error) => {
                    let permanent = matches!(
                        error,
                        RuntimeError::NotFound { .. } | RuntimeError::DigestChanged { .. }
                    );
                    return Err(Ok(Failure {
                        permanent,
                        ..self.failure(error.to_string(), None)
                    }));
                }
            }
        }
    }

    /// A failure that restarting cannot mend: the function broke the
    /// protocol or wrote state it may not write.
    fn refused(&self, message: String) -> Failure {
        Failure {
            permanent: true,
            ..self.failure(message, None)
        }
    }

    fn too_large(&self) -> Failure {
        self.failure(
            format!(
                "emitted a record longer than the limit of {} bytes",
                self.ctx.max_record_bytes
            ),
            None,
        )
    }

    fn failure(&self, what: String, exit_code: Option<i32>) -> Failure {
        Failure {
            message: format!(
                "stage {} ({}) replica {}: {what}",
                self.stage,
                self.spec().function,
                self.index
            ),
            exit_code,
            permanent: false,
        }
    }
}

/// Why the effects of an answer were not all applied.
enum Applied {
    /// An emitted line is past the record limit.
    TooLarge,
    /// The answer is not in the record protocol.
    Protocol(ProtocolError),
}

impl From<ProtocolError> for Applied {
    fn from(error: ProtocolError) -> Self {
        Applied::Protocol(error)
    }
}
