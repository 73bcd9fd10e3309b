//! [`Streams`]: the API of faasrt's streams, what `faasrt-server` routes
//! `/v1/streams` to. It stores specs, starts, drains, stops, rescales and
//! removes streams, takes records into their input logs and serves their
//! committed output.

use crate::batch::Batch;
use crate::engine::run::Command;
use crate::engine::status::{Phase, Shared};
use crate::engine::supervisor::{RestartPolicy, StreamEnv, supervise};
use crate::error::StreamError;
use crate::faults::FaultInjector;
use crate::framing::{DEFAULT_MAX_RECORD_BYTES, FrameDecoder, Record, key_field, line_key};
use crate::spec::{Framing, StreamSpec};
use crate::status::{AppendAck, OutputChunk, StreamStatus};
use crate::store::{StateEntry, StoredStream, StreamStore};
use faasrt_runtime::{FunctionName, Runtime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

mod file_source;
mod stage_changes;

/// The directory of file sources inside the data directory, unless the
/// server names another ([`Streams::set_source_dir`]).
pub const SOURCE_DIR: &str = "sources";
/// Most records one output read returns.
pub const MAX_OUTPUT_RECORDS: usize = 10_000;
/// How long drain, stop and rescale wait for the stream before answering.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The streams of one runtime.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    store: Arc<StreamStore>,
    live: Mutex<HashMap<String, Live>>,
    faults: Mutex<Option<Arc<dyn FaultInjector>>>,
    policy: Mutex<RestartPolicy>,
    max_record_bytes: usize,
    /// Where file sources are read from.
    source_dir: Mutex<Option<std::path::PathBuf>>,
}

/// A stream the server has loaded: its shared status, and its supervisor
/// while it runs.
struct Live {
    shared: Arc<Shared>,
    running: Option<Running>,
}

struct Running {
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
    /// The file source's reader, for a stream that has one.
    source: Option<JoinHandle<()>>,
}

impl Streams {
    /// The streams of `runtime`: in `streams.redb` in its data directory,
    /// or in memory for an in-memory runtime. Call [`Streams::resume`]
    /// once a tokio runtime runs.
    ///
    /// # Errors
    /// [`StreamError::Store`] and [`StreamError::Runtime`] when the
    /// database cannot be opened.
    pub fn open(runtime: Runtime) -> Result<Self, StreamError> {
        let store = match runtime.data_dir() {
            Some(dir) => StreamStore::open(dir)?,
            None => StreamStore::in_memory()?,
        };
        let mut live = HashMap::new();
        for (name, stored) in store.streams()? {
            let checkpoint = store.checkpoint(&name)?;
            let phase = if stored.failure.is_some() {
                Phase::Failed
            } else if checkpoint.epoch == 0 && !stored.running {
                Phase::Created
            } else {
                Phase::Stopped
            };
            let shared = Arc::new(Shared::new(phase, checkpoint));
            if let Some(message) = stored.failure.clone() {
                shared.set_failure(Some(crate::FailureReport {
                    message,
                    stage: None,
                    replica: None,
                    exit_code: None,
                }));
            }
            live.insert(
                name,
                Live {
                    shared,
                    running: None,
                },
            );
        }
        let source_dir = runtime.data_dir().map(|dir| dir.path().join(SOURCE_DIR));
        Ok(Streams {
            inner: Arc::new(Inner {
                runtime,
                store: Arc::new(store),
                live: Mutex::new(live),
                faults: Mutex::new(None),
                policy: Mutex::new(RestartPolicy::default()),
                max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
                source_dir: Mutex::new(source_dir),
            }),
        })
    }

    /// Starts again every stream that was running when the server last
    /// stopped, from its last checkpoint; returns their names.
    pub fn resume(&self) -> Vec<String> {
        let names: Vec<String> = match self.inner.store.streams() {
            Ok(streams) => streams
                .into_iter()
                .filter(|(_, stored)| stored.running)
                .map(|(name, _)| name)
                .collect(),
            Err(error) => {
                tracing::error!(%error, "cannot list the streams to resume");
                return Vec::new();
            }
        };
        names
            .into_iter()
            .filter(|name| match self.spawn(name) {
                Ok(()) => true,
                Err(error) => {
                    tracing::error!(stream = %name, %error, "cannot resume the stream");
                    false
                }
            })
            .collect()
    }

    /// Injects faults into every stream started from now on (tests and
    /// failure rehearsals); `None` turns it off.
    pub fn set_faults(&self, faults: Option<Arc<dyn FaultInjector>>) {
        *self.inner.faults.lock().expect("faults lock") = faults;
    }

    /// Sets when restarting gives up, for streams started from now on.
    pub fn set_restart_policy(&self, policy: RestartPolicy) {
        *self.inner.policy.lock().expect("policy lock") = policy;
    }

    /// Creates stream `name` from a JSON spec, pinning the digest of each
    /// stage's function as deployed now. Creating it again with the same
    /// spec changes nothing; with another spec it is refused while the
    /// stream exists (delete it first: its logs and state belong to its
    /// spec). Returns the status and whether it was created.
    ///
    /// # Errors
    /// [`StreamError::InvalidName`], [`StreamError::Spec`],
    /// [`StreamError::UnknownFunction`], [`StreamError::WrongState`] (it
    /// exists with another spec), [`StreamError::SourceFile`] (a file
    /// source that cannot be opened), [`StreamError::Store`].
    pub fn create(&self, name: &str, spec: &[u8]) -> Result<(StreamStatus, bool), StreamError> {
        check_name(name)?;
        let spec = StreamSpec::from_json(spec)?;
        let mut digests = Vec::with_capacity(spec.stages.len());
        for (index, stage) in spec.stages.iter().enumerate() {
            let info = self.inner.runtime.get(&stage.function).map_err(|_| {
                StreamError::UnknownFunction {
                    stage: index + 1,
                    function: stage.function.clone(),
                }
            })?;
            digests.push(info.digest);
        }
        self.check_source(&spec)?;
        let mut live = self.inner.live.lock().expect("live lock");
        if let Some(existing) = self.inner.store.stream(name)? {
            if existing.spec == spec {
                drop(live);
                return Ok((self.status(name)?, false));
            }
            return Err(StreamError::WrongState {
                name: name.to_owned(),
                state: "already there with another spec",
                action: "replace it (DELETE it first)",
            });
        }
        let stored = StoredStream {
            spec,
            digests,
            running: false,
            failure: None,
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            upgrade: None,
        };
        self.inner.store.put_stream(name, &stored, true)?;
        live.insert(
            name.to_owned(),
            Live {
                shared: Arc::new(Shared::new(Phase::Created, Default::default())),
                running: None,
            },
        );
        drop(live);
        Ok((self.status(name)?, true))
    }

    /// The status of stream `name`.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub fn status(&self, name: &str) -> Result<StreamStatus, StreamError> {
        let stored = self.stored(name)?;
        let shared = self.shared(name)?;
        let input_end = self.inner.store.input_end(name)?;
        Ok(StreamStatus::new(name, &stored, &shared, input_end))
    }

    /// The framing of stream `name`'s records.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub fn framing(&self, name: &str) -> Result<Framing, StreamError> {
        Ok(self.stored(name)?.spec.framing)
    }

    /// Every stream's status, in name order.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn list(&self) -> Result<Vec<StreamStatus>, StreamError> {
        self.inner
            .store
            .streams()?
            .into_iter()
            .map(|(name, _)| self.status(&name))
            .collect()
    }

    /// Starts stream `name` from its last checkpoint (a running stream is
    /// left as it is).
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub fn start(&self, name: &str) -> Result<StreamStatus, StreamError> {
        let mut stored = self.stored(name)?;
        if !self.is_running(name) {
            stored.running = true;
            stored.failure = None;
            self.inner.store.put_stream(name, &stored, false)?;
            self.spawn(name)?;
        }
        self.status(name)
    }

    /// Takes a final checkpoint of what the input log holds now and stops;
    /// waits up to [`SETTLE_TIMEOUT`] for it.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::WrongState`] when it is not
    /// running.
    pub async fn drain(&self, name: &str) -> Result<StreamStatus, StreamError> {
        self.send(name, Command::Drain, "drain")?;
        self.settle(name).await;
        self.status(name)
    }

    /// Stops stream `name` now: the epoch in progress is dropped and
    /// replayed at the next start. A stream that is not running is left
    /// as it is.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub async fn stop(&self, name: &str) -> Result<StreamStatus, StreamError> {
        let mut stored = self.stored(name)?;
        stored.running = false;
        self.inner.store.put_stream(name, &stored, false)?;
        if self.is_running(name) {
            let _ = self.send(name, Command::Stop, "stop");
        }
        // Also waits for a file source's reader, which ends after its step.
        self.settle(name).await;
        let shared = self.shared(name)?;
        if shared.phase() != Phase::Failed {
            shared.set_phase(Phase::Stopped);
        }
        self.status(name)
    }

    /// Deletes stream `name`, its logs and its state.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::WrongState`] while it runs.
    pub fn remove(&self, name: &str) -> Result<StreamStatus, StreamError> {
        let status = self.status(name)?;
        if self.is_running(name) {
            return Err(StreamError::WrongState {
                name: name.to_owned(),
                state: status.state,
                action: "delete it (stop or drain it first)",
            });
        }
        self.inner.store.remove_stream(name)?;
        self.inner.live.lock().expect("live lock").remove(name);
        Ok(status)
    }

    /// Appends the records of `body` (in the stream's framing) to its
    /// input log, durably: when this returns, they are on disk. A last
    /// line without a newline is a record (it gets one). Nothing is stored
    /// when any record is invalid. It blocks for the commit's fsync: async
    /// callers run it on a blocking thread (the server does).
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Records`] (too large, a
    /// missing key field for a keyed first stage, a truncated frame).
    pub fn append(&self, name: &str, body: &[u8]) -> Result<AppendAck, StreamError> {
        let stored = self.stored(name)?;
        if let Some(source) = &stored.spec.source {
            return Err(StreamError::FileSource {
                name: name.to_owned(),
                file: source.file.clone(),
            });
        }
        let records = self.parse_records(&stored.spec, body)?;
        let (first_offset, next_offset) = self.inner.store.append_input(name, &records)?;
        self.shared(name)?.appended.notify_waiters();
        Ok(AppendAck {
            first_offset,
            next_offset,
            records: records.len() as u64,
        })
    }

    /// The records of `body`, in `spec`'s framing, checked as an append
    /// checks them.
    pub(super) fn parse_records(
        &self,
        spec: &StreamSpec,
        body: &[u8],
    ) -> Result<Batch, StreamError> {
        let max = self.inner.max_record_bytes;
        let records = match spec.framing {
            Framing::Lines => {
                let records = Batch::from_lines(body.to_vec(), max)?;
                if let Some(key) = &spec.stages[0].key
                    && let Some((index, _)) = records
                        .iter()
                        .enumerate()
                        .find(|(_, r)| key_field(r.value, key).is_none())
                {
                    let offset: usize = records.iter().take(index).map(|r| r.value.len()).sum();
                    let record = Record {
                        offset: offset as u64,
                        key: None,
                        value: records.get(index).value.to_vec(),
                    };
                    line_key(&record, key)?;
                }
                records
            }
            Framing::Frames => {
                let mut frames = FrameDecoder::new(max);
                let decoded = frames.push(body)?;
                frames.finish()?;
                let mut records = Batch::with_capacity(decoded.len(), body.len());
                for record in &decoded {
                    records.push(record.key.as_deref().unwrap_or_default(), &record.value);
                }
                records
            }
        };
        Ok(records)
    }

    /// Committed output records from offset `from`, at most `max`; when
    /// there are none yet, waits up to `wait` for an epoch to commit some.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub async fn output(
        &self,
        name: &str,
        from: u64,
        max: usize,
        wait: Duration,
    ) -> Result<OutputChunk, StreamError> {
        let shared = self.shared(name)?;
        let mut watch = shared.watch();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let end = watch.borrow_and_update().output_end;
            if from < end || wait.is_zero() || tokio::time::Instant::now() >= deadline {
                let records = if from < end {
                    let batch =
                        self.inner
                            .store
                            .read_output(name, from, max.min(MAX_OUTPUT_RECORDS))?;
                    with_offsets(&batch, from)
                } else {
                    Vec::new()
                };
                let next = from + records.len() as u64;
                return Ok(OutputChunk {
                    from,
                    next,
                    end,
                    records,
                });
            }
            if tokio::time::timeout_at(deadline, watch.changed())
                .await
                .is_err()
            {
                continue;
            }
        }
    }

    /// Input records from offset `from`, at most `max` (the log is
    /// replayable).
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub fn input(&self, name: &str, from: u64, max: usize) -> Result<Vec<Record>, StreamError> {
        self.stored(name)?;
        let batch = self
            .inner
            .store
            .read_input(name, from, max.min(MAX_OUTPUT_RECORDS))?;
        Ok(with_offsets(&batch, from))
    }

    /// The stream's committed state: (stage, key, value), in order.
    ///
    /// # Errors
    /// [`StreamError::NotFound`], [`StreamError::Store`].
    pub fn state(&self, name: &str) -> Result<Vec<StateEntry>, StreamError> {
        self.stored(name)?;
        self.inner.store.dump_state(name)
    }

    /// Waits until stream `name` is no longer running (nor reading its
    /// file source), up to `timeout`; whether it stopped.
    pub async fn wait_stopped(&self, name: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.is_running(name) || self.is_reading_source(name) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    async fn settle(&self, name: &str) {
        self.wait_stopped(name, SETTLE_TIMEOUT).await;
    }

    fn spawn(&self, name: &str) -> Result<(), StreamError> {
        let mut live = self.inner.live.lock().expect("live lock");
        let entry = live.get_mut(name).ok_or_else(|| StreamError::NotFound {
            name: name.to_owned(),
        })?;
        if entry
            .running
            .as_ref()
            .is_some_and(|r| !r.task.is_finished())
        {
            return Ok(());
        }
        entry.shared.set_failure(None);
        entry.shared.set_phase(Phase::Running);
        let (commands, receive) = mpsc::unbounded_channel();
        let env = StreamEnv {
            name: name.to_owned(),
            runtime: self.inner.runtime.clone(),
            store: self.inner.store.clone(),
            shared: entry.shared.clone(),
            faults: self.inner.faults.lock().expect("faults lock").clone(),
            max_record_bytes: self.inner.max_record_bytes,
            policy: *self.inner.policy.lock().expect("policy lock"),
        };
        let spec = self.inner.store.stream(name)?.map(|stored| stored.spec);
        let task = tokio::spawn(supervise(env, receive));
        let source = spec.and_then(|spec| self.spawn_source(name, &spec, &commands));
        entry.running = Some(Running {
            commands,
            task,
            source,
        });
        Ok(())
    }

    pub(super) fn is_running(&self, name: &str) -> bool {
        let live = self.inner.live.lock().expect("live lock");
        live.get(name)
            .and_then(|l| l.running.as_ref())
            .is_some_and(|r| !r.task.is_finished())
    }

    fn is_reading_source(&self, name: &str) -> bool {
        let live = self.inner.live.lock().expect("live lock");
        live.get(name)
            .and_then(|l| l.running.as_ref())
            .and_then(|r| r.source.as_ref())
            .is_some_and(|source| !source.is_finished())
    }

    pub(super) fn send(
        &self,
        name: &str,
        command: Command,
        action: &'static str,
    ) -> Result<(), StreamError> {
        let live = self.inner.live.lock().expect("live lock");
        let entry = live.get(name).ok_or_else(|| StreamError::NotFound {
            name: name.to_owned(),
        })?;
        match &entry.running {
            Some(running) if !running.task.is_finished() => {
                running
                    .commands
                    .send(command)
                    .map_err(|_| StreamError::WrongState {
                        name: name.to_owned(),
                        state: entry.shared.phase().label(),
                        action,
                    })
            }
            _ => Err(StreamError::WrongState {
                name: name.to_owned(),
                state: entry.shared.phase().label(),
                action,
            }),
        }
    }

    pub(super) fn stored(&self, name: &str) -> Result<StoredStream, StreamError> {
        check_name(name)?;
        self.inner
            .store
            .stream(name)?
            .ok_or_else(|| StreamError::NotFound {
                name: name.to_owned(),
            })
    }

    pub(super) fn shared(&self, name: &str) -> Result<Arc<Shared>, StreamError> {
        let live = self.inner.live.lock().expect("live lock");
        live.get(name)
            .map(|l| l.shared.clone())
            .ok_or_else(|| StreamError::NotFound {
                name: name.to_owned(),
            })
    }
}

/// The records of `batch` as API records, the first at offset `first`.
fn with_offsets(batch: &Batch, first: u64) -> Vec<Record> {
    batch
        .iter()
        .enumerate()
        .map(|(index, record)| Record {
            offset: first + index as u64,
            key: (!record.key.is_empty()).then(|| record.key.to_vec()),
            value: record.value.to_vec(),
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), StreamError> {
    FunctionName::parse(name)
        .map(|_| ())
        .map_err(|e| StreamError::InvalidName {
            name: name.to_owned(),
            reason: e.to_string(),
        })
}
