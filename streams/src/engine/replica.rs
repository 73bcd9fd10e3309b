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
use crate::framing::{LineDecoder, Record, line_key};
use crate::protocol::{Effect, decode_effects, encode_batch};
use crate::spec::{Framing, StageSpec};
use bytes::Bytes;
use faasrt_runtime::{Invocation, InvokeRequest, RuntimeError};
use std::collections::HashSet;
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
                Event::Records(records) => self.process(records).await,
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
    async fn process(&mut self, records: Vec<Record>) -> Result<(), Stop> {
        let bytes: usize = records.iter().map(|r| r.value.len()).sum();
        self.stats.received(records.len(), bytes);
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
            let mut input = Vec::with_capacity(bytes);
            for record in &records {
                input.extend_from_slice(&record.value);
            }
            let invocation = self.invoke(input).await?;
            self.lines_of(&invocation.output)?
        } else {
            self.run_records(records).await?
        };
        self.outputs.send(emitted).await
    }

    /// Runs a batch in the record protocol and applies its effects.
    async fn run_records(&mut self, records: Vec<Record>) -> Result<Vec<Record>, Stop> {
        let keys = self.keys_of(&records)?;
        let mut states: Vec<(&[u8], &[u8])> = Vec::new();
        let mut distinct: HashSet<&[u8]> = HashSet::new();
        if let Some(state) = &mut self.state {
            let unique: Vec<&[u8]> = keys
                .iter()
                .map(Vec::as_slice)
                .filter(|k| distinct.insert(k))
                .collect();
            if let Err(error) = state.load(&self.ctx.store, &self.ctx.name, &unique) {
                let message = format!("cannot read its state: {error}");
                return Err(Ok(self.failure(message, None)));
            }
            let state = &*state;
            states.extend(
                unique
                    .iter()
                    .filter_map(|key| state.get(key).map(|value| (*key, value))),
            );
        }
        let mut input = Vec::new();
        encode_batch(
            &states,
            keys.iter()
                .zip(&records)
                .map(|(key, record)| (key.as_slice(), record.value.as_slice())),
            &mut input,
        );
        drop(states);
        let distinct: HashSet<Vec<u8>> = distinct.into_iter().map(<[u8]>::to_vec).collect();
        let invocation = self.invoke(input).await?;
        let effects = decode_effects(&invocation.output).map_err(|e| {
            Ok(Failure {
                permanent: true,
                ..self.failure(e.to_string(), None)
            })
        })?;
        let lines = self.ctx.spec.framing == Framing::Lines;
        let mut emitted = Vec::new();
        for effect in effects {
            match effect {
                Effect::Emit { key, mut value } => {
                    if lines {
                        if !value.ends_with(b"\n") {
                            value.push(b'\n');
                        }
                        if value.len() > self.ctx.max_record_bytes {
                            return Err(Ok(self.too_large()));
                        }
                    }
                    emitted.push(Record {
                        offset: 0,
                        key: (!lines).then_some(key),
                        value,
                    });
                }
                Effect::Put { key, value } => self.write_state(&distinct, key, Some(value))?,
                Effect::Delete { key } => self.write_state(&distinct, key, None)?,
            }
        }
        Ok(emitted)
    }

    /// Each record's key: its field for a keyed `lines` stage, the frame's
    /// key otherwise (empty for an unkeyed line).
    fn keys_of(&self, records: &[Record]) -> Result<Vec<Vec<u8>>, Stop> {
        let key = self.spec().key.as_ref().filter(|k| k.field.is_some());
        records
            .iter()
            .map(|record| match key {
                Some(key) => line_key(record, key)
                    .map(<[u8]>::to_vec)
                    .map_err(|e| Ok(self.failure(e.to_string(), None))),
                None => Ok(record.key.clone().unwrap_or_default()),
            })
            .collect()
    }

    fn write_state(
        &mut self,
        batch_keys: &HashSet<Vec<u8>>,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    ) -> Result<(), Stop> {
        if self.state.is_none() {
            return Err(Ok(Failure {
                permanent: true,
                ..self.failure(
                    "wrote state, but the stage is not keyed: give it a \"key\" in the spec".into(),
                    None,
                )
            }));
        }
        if !batch_keys.contains(&key) {
            return Err(Ok(Failure {
                permanent: true,
                ..self.failure(
                    format!(
                        "wrote the state of key {:?}, which is not a key of its batch: state is scoped to the record's key",
                        String::from_utf8_lossy(&key)
                    ),
                    None,
                )
            }));
        }
        if let Some(state) = &mut self.state {
            state.set(key, value);
        }
        Ok(())
    }

    /// A filter's output cut into lines (a last line without a newline
    /// gets one).
    fn lines_of(&self, output: &[u8]) -> Result<Vec<Record>, Stop> {
        let mut lines = LineDecoder::new(self.ctx.max_record_bytes);
        let mut records = lines.push(output).map_err(|_| Ok(self.too_large()))?;
        if let Some(mut last) = lines.finish() {
            last.value.push(b'\n');
            records.push(last);
        }
        Ok(records)
    }

    /// Invokes the stage's function on `input`, waiting while the server
    /// is at its instance limit.
    async fn invoke(&self, input: Vec<u8>) -> Result<Invocation, Stop> {
        let spec = self.spec();
        let request = InvokeRequest {
            args: spec.args.clone(),
            input: Bytes::from(input),
            digest: Some(self.ctx.digests[self.stage].clone()),
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
