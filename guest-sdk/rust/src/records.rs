//! The record API, for stages of a faasrt stream: a function that is
//! handed records one at a time, emits records, and keeps state per key.
//!
//! ```no_run
//! // A keyed count: for each record, the key's count goes up by one and
//! // "key count" goes downstream.
//! faasrt_guest::run(|| {
//!     faasrt_guest::records::run(|record, state| {
//!         let count = state.get().map_or(0, |v| {
//!             std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
//!         }) + 1u64;
//!         state.put(count.to_string());
//!         let line = format!("{} {count}\n", String::from_utf8_lossy(record.key));
//!         state.emit(record.key, line.as_bytes());
//!         Ok(())
//!     })
//! })
//! ```
//!
//! The host runs the function once per batch of records and hands it the
//! stored state of the batch's keys with them; [`run`] calls the handler
//! for each record in order. [`State::get`], [`State::put`] and
//! [`State::delete`] act on the current record's key: reads see the
//! batch's own writes, and the host commits the writes with the epoch they
//! belong to (exactly once, even when the stream replays after a failure).
//! A checkpoint never falls inside a batch, so the function never sees one.
//!
//! The wire format (the host's `faasrt_streams::protocol`) is documented
//! there; nothing here needs it.

use std::io::{self, Write};

const BATCH_MAGIC: &[u8; 4] = b"fsb2";

/// One record of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Its key: the key field of a line, or the key of a frame.
    pub key: &'a [u8],
    /// The line (newline included) or the frame's value.
    pub value: &'a [u8],
}

/// The state of the current record's key, and where emitted records go.
#[derive(Debug, Default)]
pub struct State {
    /// Each key of the batch, in the host's order: records name theirs by
    /// index, so finding a key's state is an array access.
    entries: Vec<Entry>,
    /// The current record's key, as an index into `entries`.
    current: usize,
    out: Vec<u8>,
}

#[derive(Debug, Default)]
struct Entry {
    key: Vec<u8>,
    value: Option<Vec<u8>>,
    written: bool,
}

impl State {
    /// The current key's value.
    pub fn get(&self) -> Option<&[u8]> {
        self.entries
            .get(self.current)
            .and_then(|e| e.value.as_deref())
    }

    /// Sets the current key's value.
    pub fn put(&mut self, value: impl Into<Vec<u8>>) {
        let entry = self.entry();
        entry.value = Some(value.into());
        entry.written = true;
    }

    /// Sets the current key's value from a slice, reusing the memory of the
    /// value it replaces.
    pub fn put_slice(&mut self, value: &[u8]) {
        let entry = self.entry();
        match &mut entry.value {
            Some(old) => {
                old.clear();
                old.extend_from_slice(value);
            }
            None => entry.value = Some(value.to_vec()),
        }
        entry.written = true;
    }

    /// Deletes the current key's value.
    pub fn delete(&mut self) {
        let entry = self.entry();
        entry.value = None;
        entry.written = true;
    }

    /// The current record's key.
    pub fn key(&self) -> &[u8] {
        self.entries
            .get(self.current)
            .map_or(&[], |e| e.key.as_slice())
    }

    /// Sends a record downstream (to the next stage, or the stream's
    /// output). In a `lines` stream `value` is the line (a newline is added
    /// if it has none) and `key` is ignored: the next stage finds its key
    /// in the line.
    pub fn emit(&mut self, key: &[u8], value: &[u8]) {
        self.emit_parts(key, &[value]);
    }

    /// Sends a record whose value is `parts` joined, without joining them
    /// first.
    pub fn emit_parts(&mut self, key: &[u8], parts: &[&[u8]]) {
        self.out.push(b'E');
        put_bytes(key, &mut self.out);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).expect("a record part is under 4 GiB");
        self.out.extend_from_slice(&len.to_le_bytes());
        for part in parts {
            self.out.extend_from_slice(part);
        }
    }

    fn entry(&mut self) -> &mut Entry {
        &mut self.entries[self.current]
    }
}

/// Reads the batch on `faasin`, calls `handler` for each record in order,
/// and writes what it emitted and wrote to `faasout`.
///
/// # Errors
/// The handler's first error, or [`io::ErrorKind::InvalidData`] when the
/// input is not a batch (the function was invoked outside a stream).
pub fn run<F>(handler: F) -> Result<(), crate::Error>
where
    F: FnMut(&Record<'_>, &mut State) -> Result<(), crate::Error>,
{
    let input = crate::read_input()?;
    let answer = handle_batch(&input, handler)?;
    let mut output = crate::output();
    output.write_all(&answer)?;
    output.flush()?;
    Ok(())
}

/// [`run`] without the standard streams: the answer to one batch.
///
/// # Errors
/// As [`run`].
pub fn handle_batch<F>(batch: &[u8], mut handler: F) -> Result<Vec<u8>, crate::Error>
where
    F: FnMut(&Record<'_>, &mut State) -> Result<(), crate::Error>,
{
    let invalid = || {
        crate::Error::from(io::Error::new(
            io::ErrorKind::InvalidData,
            "faasin is not a batch of records: this function is a stream stage (records API)",
        ))
    };
    let rest = batch.strip_prefix(BATCH_MAGIC).ok_or_else(invalid)?;
    let mut reader = Reader { bytes: rest };
    let mut state = State::default();
    let mut key = Vec::new();
    for _ in 0..reader.u32().ok_or_else(invalid)? {
        let key = reader.bytes().ok_or_else(invalid)?.to_vec();
        let value = match reader.u8().ok_or_else(invalid)? {
            0 => None,
            1 => Some(reader.bytes().ok_or_else(invalid)?.to_vec()),
            _ => return Err(invalid()),
        };
        state.entries.push(Entry {
            key,
            value,
            written: false,
        });
    }
    for _ in 0..reader.u32().ok_or_else(invalid)? {
        let index = reader.u32().ok_or_else(invalid)? as usize;
        let value = reader.bytes().ok_or_else(invalid)?;
        if index >= state.entries.len() {
            return Err(invalid());
        }
        state.current = index;
        // The record's key, copied out so the handler can hold it while it
        // changes the state (a copy into one reused buffer).
        key.clear();
        key.extend_from_slice(&state.entries[index].key);
        handler(&Record { key: &key, value }, &mut state)?;
    }
    let mut out = std::mem::take(&mut state.out);
    for entry in state.entries {
        if !entry.written {
            continue;
        }
        match entry.value {
            Some(value) => {
                out.push(b'P');
                put_bytes(&entry.key, &mut out);
                put_bytes(&value, &mut out);
            }
            None => {
                out.push(b'D');
                put_bytes(&entry.key, &mut out);
            }
        }
    }
    Ok(out)
}

fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(bytes.len()).expect("a record part is under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (byte, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(*byte)
    }

    fn u32(&mut self) -> Option<u32> {
        let (raw, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(u32::from_le_bytes(*raw))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if self.bytes.len() < len {
            return None;
        }
        let (bytes, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch in the host's layout: the records' keys once each, in the
    /// order met, with their value from `states`, then the records by
    /// key index.
    pub(super) fn batch(states: &[(&[u8], &[u8])], records: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut keys: Vec<&[u8]> = Vec::new();
        for (key, _) in records {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
        let mut out = BATCH_MAGIC.to_vec();
        out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for key in &keys {
            put_bytes(key, &mut out);
            match states.iter().find(|(k, _)| k == key) {
                Some((_, value)) => {
                    out.push(1);
                    put_bytes(value, &mut out);
                }
                None => out.push(0),
            }
        }
        out.extend_from_slice(&(records.len() as u32).to_le_bytes());
        for (key, value) in records {
            let index = keys.iter().position(|k| k == key).expect("listed") as u32;
            out.extend_from_slice(&index.to_le_bytes());
            put_bytes(value, &mut out);
        }
        out
    }

    #[test]
    fn reads_see_the_batchs_writes_and_each_key_is_written_once() {
        let input = batch(&[(b"a", b"5")], &[(b"a", b"x"), (b"b", b"y"), (b"a", b"z")]);
        let mut seen = Vec::new();
        let answer = handle_batch(&input, |record, state| {
            let n: u32 = state
                .get()
                .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
            seen.push((record.key.to_vec(), n));
            state.put((n + 1).to_string());
            state.emit(record.key, record.value);
            Ok(())
        })
        .expect("handled");
        assert_eq!(
            seen,
            [(b"a".to_vec(), 5), (b"b".to_vec(), 0), (b"a".to_vec(), 6)]
        );
        let mut expected = Vec::new();
        for (k, v) in [(b"a", b"x"), (b"b", b"y"), (b"a", b"z")] {
            expected.push(b'E');
            put_bytes(k, &mut expected);
            put_bytes(v, &mut expected);
        }
        for (k, v) in [(&b"a"[..], &b"7"[..]), (b"b", b"1")] {
            expected.push(b'P');
            put_bytes(k, &mut expected);
            put_bytes(v, &mut expected);
        }
        assert_eq!(answer, expected);
    }

    #[test]
    fn a_delete_is_answered_as_one() {
        let input = batch(&[(b"k", b"1")], &[(b"k", b"v")]);
        let answer = handle_batch(&input, |_, state| {
            state.delete();
            Ok(())
        })
        .expect("handled");
        assert_eq!(answer, b"D\x01\0\0\0k");
    }

    #[test]
    fn input_that_is_not_a_batch_is_refused() {
        let error = handle_batch(b"hello\n", |_, _| Ok(())).expect_err("refused");
        assert!(
            error.message().is_some_and(|m| m.contains("stream stage")),
            "{error:?}"
        );
    }
}
