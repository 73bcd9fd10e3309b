//! The streams' own database, `streams.redb` in the data directory beside
//! the function store, so that an epoch's commit never waits for a deploy's
//! (and the other way round).
//!
//! Tables:
//! - `streams`: name → JSON [`StoredStream`] (the spec, the pinned digests,
//!   whether it should be running);
//! - `checkpoints`: name → JSON [`Checkpoint`] (the last committed epoch);
//! - `input_ends`: name → the next offset of its input log;
//! - `file_positions`: name → how far its file source has been read into
//!   the input log (bytes), committed with each append of the file's records;
//! - per stream `input/{name}` and `output/{name}`: first offset of a chunk
//!   → the chunk's records ([`Batch::encode`]);
//! - per stream `state/{name}`: (stage, key) → value.
//!
//! An epoch's commit ([`StreamStore::commit_epoch`]) writes its state
//! changes, its output chunk and its checkpoint in one transaction: after a
//! crash either all of an epoch is there or none of it. Offsets count
//! records, from 0.

use crate::batch::Batch;
use crate::error::StreamError;
use crate::spec::StreamSpec;
use faasrt_runtime::DataDir;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// File name of the streams' database inside the data directory.
pub const STREAMS_FILE: &str = "streams.redb";

/// Most records in one log chunk: a read of the source's batch (4096
/// records) touches one or two chunks, never a whole large append.
pub const CHUNK_RECORDS: usize = 4096;

const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const CHECKPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoints");
const INPUT_ENDS: TableDefinition<&str, u64> = TableDefinition::new("input_ends");
const FILE_POSITIONS: TableDefinition<&str, u64> = TableDefinition::new("file_positions");

/// A stream as stored: what it runs and whether it should be running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredStream {
    /// Its spec, as validated.
    pub spec: StreamSpec,
    /// The digest of each stage's function when the stream was created (or
    /// last upgraded): it runs exactly these versions.
    pub digests: Vec<String>,
    /// Whether the server should run it: a restarted server resumes the
    /// streams that were running.
    pub running: bool,
    /// Why the stream failed, when it did (cleared by the next start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// When it was created, RFC 3339.
    pub created_at: String,
    /// A stage upgraded at the last barrier, until an epoch commits with
    /// its new function: a failure of that stage first puts the previous
    /// function back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<PendingUpgrade>,
}

/// What a provisional upgrade replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpgrade {
    /// The stage, counted from 0.
    pub stage: usize,
    /// The function it ran before.
    pub previous_function: String,
    /// That function's pinned digest.
    pub previous_digest: String,
}

/// The last committed epoch of a stream: where its source resumes, how far
/// its output log goes, and how its keyed stages are routed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The epoch, counted from 1; 0 before the first commit.
    pub epoch: u64,
    /// The input offset of the first record after the epoch.
    pub source_offset: u64,
    /// The next offset of the output log.
    pub output_end: u64,
    /// Per stage, its slot table's owners (keyed stages only).
    pub slot_tables: Vec<Option<Vec<u16>>>,
}

/// One state change of an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The stage, counted from 0.
    pub stage: u32,
    /// The key.
    pub key: Vec<u8>,
    /// The new value, `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// One key's committed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateEntry {
    /// The stage, counted from 0.
    pub stage: u32,
    /// The key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Vec<u8>,
}

/// The streams' database.
pub struct StreamStore {
    db: Database,
}

impl StreamStore {
    /// Opens `streams.redb` in `data_dir`.
    ///
    /// # Errors
    /// [`StreamError::Runtime`] when the file cannot be opened,
    /// [`StreamError::Store`] when it is not a database or is in use.
    pub fn open(data_dir: &DataDir) -> Result<Self, StreamError> {
        let file = data_dir.open_private_file(STREAMS_FILE)?;
        let db = redb::Builder::new().create_file(file)?;
        Self::with_database(db)
    }

    /// A database that lives in memory only.
    ///
    /// # Errors
    /// [`StreamError::Store`] when it cannot be set up.
    pub fn in_memory() -> Result<Self, StreamError> {
        let db = redb::Builder::new().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::with_database(db)
    }

    fn with_database(db: Database) -> Result<Self, StreamError> {
        let txn = db.begin_write()?;
        txn.open_table(STREAMS)?;
        txn.open_table(CHECKPOINTS)?;
        txn.open_table(INPUT_ENDS)?;
        txn.open_table(FILE_POSITIONS)?;
        txn.commit()?;
        Ok(StreamStore { db })
    }

    /// Stores `stream` under `name`, replacing what was there, and resets
    /// its checkpoint, logs and state when `fresh`.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn put_stream(
        &self,
        name: &str,
        stream: &StoredStream,
        fresh: bool,
    ) -> Result<(), StreamError> {
        let json = serde_json::to_vec(stream).expect("a stream always serializes");
        let txn = self.db.begin_write()?;
        if fresh {
            delete_stream_data(&txn, name)?;
        }
        txn.open_table(STREAMS)?.insert(name, json.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// The stream called `name`, if any.
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn stream(&self, name: &str) -> Result<Option<StoredStream>, StreamError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STREAMS)?;
        let Some(raw) = table.get(name)? else {
            return Ok(None);
        };
        parse(raw.value(), "stream").map(Some)
    }

    /// Every stream, in name order.
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn streams(&self) -> Result<Vec<(String, StoredStream)>, StreamError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STREAMS)?;
        let mut streams = Vec::new();
        for entry in table.iter()? {
            let (name, raw) = entry?;
            streams.push((name.value().to_owned(), parse(raw.value(), "stream")?));
        }
        Ok(streams)
    }

    /// Deletes the stream and everything it stored; whether it existed.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn remove_stream(&self, name: &str) -> Result<bool, StreamError> {
        let txn = self.db.begin_write()?;
        let existed = txn.open_table(STREAMS)?.remove(name)?.is_some();
        delete_stream_data(&txn, name)?;
        txn.commit()?;
        Ok(existed)
    }

    /// The last committed checkpoint (the default, epoch 0, before any).
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn checkpoint(&self, name: &str) -> Result<Checkpoint, StreamError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHECKPOINTS)?;
        match table.get(name)? {
            Some(raw) => parse(raw.value(), "checkpoint"),
            None => Ok(Checkpoint::default()),
        }
    }

    /// Replaces the slot tables of the last checkpoint (a rescale, taken
    /// right after a commit, between two epochs).
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn set_slot_tables(
        &self,
        name: &str,
        slot_tables: Vec<Option<Vec<u16>>>,
    ) -> Result<(), StreamError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(CHECKPOINTS)?;
            let mut checkpoint = match table.get(name)? {
                Some(raw) => parse(raw.value(), "checkpoint")?,
                None => Checkpoint::default(),
            };
            checkpoint.slot_tables = slot_tables;
            let json = serde_json::to_vec(&checkpoint).expect("a checkpoint serializes");
            table.insert(name, json.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Appends `records` to the input log, durably; returns the offset of
    /// the first and the log's new end.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn append_input(&self, name: &str, records: &Batch) -> Result<(u64, u64), StreamError> {
        self.append_input_from(name, records, None)
    }

    /// [`StreamStore::append_input`] for records read from the stream's
    /// file source, recording in the same transaction that the file has
    /// been read up to byte `position`.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn append_input_at(
        &self,
        name: &str,
        records: &Batch,
        position: u64,
    ) -> Result<(u64, u64), StreamError> {
        self.append_input_from(name, records, Some(position))
    }

    /// How far the stream's file source has been read (0 before any).
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn file_position(&self, name: &str) -> Result<u64, StreamError> {
        let txn = self.db.begin_read()?;
        let positions = txn.open_table(FILE_POSITIONS)?;
        Ok(positions.get(name)?.map_or(0, |at| at.value()))
    }

    fn append_input_from(
        &self,
        name: &str,
        records: &Batch,
        position: Option<u64>,
    ) -> Result<(u64, u64), StreamError> {
        let txn = self.db.begin_write()?;
        if let Some(position) = position {
            txn.open_table(FILE_POSITIONS)?.insert(name, position)?;
        }
        let first = {
            let mut ends = txn.open_table(INPUT_ENDS)?;
            let first = ends.get(name)?.map_or(0, |end| end.value());
            let end = first + records.len() as u64;
            ends.insert(name, end)?;
            first
        };
        if !records.is_empty() {
            let mut log = txn.open_table(log_table(INPUT, name).definition())?;
            write_chunks(&mut log, first, records)?;
        }
        txn.commit()?;
        Ok((first, first + records.len() as u64))
    }

    /// The next offset of the input log.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn input_end(&self, name: &str) -> Result<u64, StreamError> {
        let txn = self.db.begin_read()?;
        let ends = txn.open_table(INPUT_ENDS)?;
        Ok(ends.get(name)?.map_or(0, |end| end.value()))
    }

    /// Up to `max` input records from offset `from`.
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn read_input(&self, name: &str, from: u64, max: usize) -> Result<Batch, StreamError> {
        self.read_log(&log_table(INPUT, name), from, max)
    }

    /// Up to `max` committed output records from offset `from`.
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn read_output(&self, name: &str, from: u64, max: usize) -> Result<Batch, StreamError> {
        self.read_log(&log_table(OUTPUT, name), from, max)
    }

    fn read_log(&self, table: &LogTable, from: u64, max: usize) -> Result<Batch, StreamError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(table.definition()) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Batch::new()),
            Err(e) => return Err(e.into()),
        };
        // The chunk that holds `from` starts at or before it.
        let start = table
            .range(..=from)?
            .next_back()
            .transpose()?
            .map_or(from, |(first, _)| first.value());
        let mut records = Batch::new();
        for entry in table.range(start..)? {
            if records.len() >= max {
                break;
            }
            let (first, chunk) = entry?;
            let skip = from.saturating_sub(first.value()) as usize;
            records
                .decode_range(chunk.value(), skip, max - records.len())
                .map_err(StreamError::Corrupt)?;
        }
        Ok(records)
    }

    /// The stored state of `keys` in `stage`, in their order.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn load_state(
        &self,
        name: &str,
        stage: u32,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StreamError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(state_table(name).definition()) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![None; keys.len()]),
            Err(e) => return Err(e.into()),
        };
        keys.iter()
            .map(|key| Ok(table.get((stage, *key))?.map(|v| v.value().to_vec())))
            .collect()
    }

    /// Every (stage, key, value) of the stream's state, in order: what a
    /// user inspects, and what the equivalence tests compare.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub fn dump_state(&self, name: &str) -> Result<Vec<StateEntry>, StreamError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(state_table(name).definition()) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut state = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (stage, key) = key.value();
            state.push(StateEntry {
                stage,
                key: key.to_vec(),
                value: value.value().to_vec(),
            });
        }
        Ok(state)
    }

    /// Commits one epoch in one transaction: its state changes, its output
    /// (appended to the output log) and its checkpoint, whose `output_end`
    /// this sets. Returns the checkpoint as committed.
    ///
    /// # Errors
    /// [`StreamError::Store`], [`StreamError::Corrupt`].
    pub fn commit_epoch(
        &self,
        name: &str,
        mut checkpoint: Checkpoint,
        changes: &[StateChange],
        output: &Batch,
    ) -> Result<Checkpoint, StreamError> {
        let txn = self.db.begin_write()?;
        {
            let mut checkpoints = txn.open_table(CHECKPOINTS)?;
            let previous = match checkpoints.get(name)? {
                Some(raw) => parse(raw.value(), "checkpoint")?,
                None => Checkpoint::default(),
            };
            if !output.is_empty() {
                let mut log = txn.open_table(log_table(OUTPUT, name).definition())?;
                write_chunks(&mut log, previous.output_end, output)?;
            }
            checkpoint.output_end = previous.output_end + output.len() as u64;
            if !changes.is_empty() {
                let mut state = txn.open_table(state_table(name).definition())?;
                for change in changes {
                    match &change.value {
                        Some(value) => {
                            state
                                .insert((change.stage, change.key.as_slice()), value.as_slice())?;
                        }
                        None => {
                            state.remove((change.stage, change.key.as_slice()))?;
                        }
                    }
                }
            }
            let json = serde_json::to_vec(&checkpoint).expect("a checkpoint serializes");
            checkpoints.insert(name, json.as_slice())?;
        }
        txn.commit()?;
        Ok(checkpoint)
    }
}

const INPUT: &str = "input";
const OUTPUT: &str = "output";

/// The name of one stream's log table.
struct LogTable(String);

impl LogTable {
    fn definition(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.0)
    }
}

fn log_table(kind: &str, name: &str) -> LogTable {
    LogTable(format!("{kind}/{name}"))
}

/// The name of one stream's state table.
struct StateTable(String);

impl StateTable {
    fn definition(&self) -> TableDefinition<'_, (u32, &'static [u8]), &'static [u8]> {
        TableDefinition::new(&self.0)
    }
}

fn state_table(name: &str) -> StateTable {
    StateTable(format!("state/{name}"))
}

/// Writes `records` into `log` as chunks of at most [`CHUNK_RECORDS`], the
/// first at offset `first`.
fn write_chunks(
    log: &mut redb::Table<'_, u64, &'static [u8]>,
    first: u64,
    records: &Batch,
) -> Result<(), StreamError> {
    let mut chunk = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let end = (start + CHUNK_RECORDS).min(records.len());
        chunk.clear();
        records.encode_range(start..end, &mut chunk);
        log.insert(first + start as u64, chunk.as_slice())?;
        start = end;
    }
    Ok(())
}

/// Deletes a stream's checkpoint, logs and state (not its record).
fn delete_stream_data(txn: &redb::WriteTransaction, name: &str) -> Result<(), StreamError> {
    txn.open_table(CHECKPOINTS)?.remove(name)?;
    txn.open_table(INPUT_ENDS)?.remove(name)?;
    txn.open_table(FILE_POSITIONS)?.remove(name)?;
    for table in [log_table(INPUT, name), log_table(OUTPUT, name)] {
        txn.delete_table(table.definition())?;
    }
    txn.delete_table(state_table(name).definition())?;
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(raw: &[u8], what: &str) -> Result<T, StreamError> {
    serde_json::from_slice(raw).map_err(|e| StreamError::Corrupt(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;
