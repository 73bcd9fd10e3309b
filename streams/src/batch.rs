//! A batch of records in one buffer: what travels on an edge, what a
//! stage's function is handed, and what a log chunk holds.
//!
//! Records are kept back to back in one `Vec<u8>`, each as its key then its
//! value, with a table of their lengths; a `lines` record has an empty
//! key, so a batch of lines is exactly their concatenation and becomes a
//! filter's `faasin` without a copy. Cutting a function's output into
//! lines allocates nothing per record.

use crate::framing::FramingError;

/// Where one record lies in a batch's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    key_len: u32,
    value_len: u32,
}

/// One record of a batch, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Its key (empty for a line).
    pub key: &'a [u8],
    /// The line (newline included) or the frame's value.
    pub value: &'a [u8],
}

/// Records back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    data: Vec<u8>,
    spans: Vec<Span>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `records` records of `bytes` bytes.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        Batch {
            data: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(records),
        }
    }

    /// Appends a record.
    ///
    /// # Panics
    /// When the batch would pass 4 GiB.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        self.push_parts(key, &[value]);
    }

    /// Appends a record whose value is `parts` joined (a line and the
    /// newline it lacked, say).
    ///
    /// # Panics
    /// When the batch would pass 4 GiB.
    pub fn push_parts(&mut self, key: &[u8], parts: &[&[u8]]) {
        let start = self.data.len();
        self.data.extend_from_slice(key);
        for part in parts {
            self.data.extend_from_slice(part);
        }
        let len = |n: usize| u32::try_from(n).expect("a batch is under 4 GiB");
        self.spans.push(Span {
            start: len(start),
            key_len: len(key.len()),
            value_len: len(self.data.len() - start - key.len()),
        });
    }

    /// Appends every record of `other`.
    pub fn extend(&mut self, other: &Batch) {
        for record in other.iter() {
            self.push(record.key, record.value);
        }
    }

    /// The lines of `data`, taken whole: each ends at a newline, and a last
    /// line without one gets it. Records pass `max` bytes are refused.
    ///
    /// # Errors
    /// [`FramingError::RecordTooLarge`] with the line's byte offset.
    pub fn from_lines(mut data: Vec<u8>, max: usize) -> Result<Self, FramingError> {
        if data.last().is_some_and(|b| *b != b'\n') {
            data.push(b'\n');
        }
        let mut spans = Vec::with_capacity(data.len() / 32 + 1);
        let mut start = 0usize;
        for at in memchr_iter(&data) {
            let end = at + 1;
            if end - start > max {
                return Err(FramingError::RecordTooLarge {
                    offset: start as u64,
                    max,
                });
            }
            let len = |n: usize| u32::try_from(n).expect("a batch is under 4 GiB");
            spans.push(Span {
                start: len(start),
                key_len: 0,
                value_len: len(end - start),
            });
            start = end;
        }
        Ok(Batch { data, spans })
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of keys and values together.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Record `index`.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn get(&self, index: usize) -> RecordRef<'_> {
        self.record(self.spans[index])
    }

    /// The records, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordRef<'_>> + '_ {
        self.spans.iter().map(|span| self.record(*span))
    }

    /// The buffer, when it is exactly the values back to back (no record
    /// has a key): a filter's `faasin`.
    pub fn into_values(self) -> Result<Vec<u8>, Batch> {
        if self.spans.iter().all(|s| s.key_len == 0) {
            Ok(self.data)
        } else {
            Err(self)
        }
    }

    fn record(&self, span: Span) -> RecordRef<'_> {
        let start = span.start as usize;
        let key_end = start + span.key_len as usize;
        RecordRef {
            key: &self.data[start..key_end],
            value: &self.data[key_end..key_end + span.value_len as usize],
        }
    }

    /// Writes the batch as a log chunk: `u32` count, then each record's
    /// `u32` key and value lengths, then the bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_range(0..self.len(), out);
    }

    /// Writes records `range` as a log chunk (see [`Batch::encode`]).
    ///
    /// # Panics
    /// When `range` is out of bounds.
    pub fn encode_range(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        let spans = &self.spans[range];
        let bytes = match (spans.first(), spans.last()) {
            (Some(first), Some(last)) => {
                &self.data
                    [first.start as usize..(last.start + last.key_len + last.value_len) as usize]
            }
            _ => &[][..],
        };
        out.reserve(4 + 8 * spans.len() + bytes.len());
        let count = u32::try_from(spans.len()).expect("a batch is under 4G records");
        out.extend_from_slice(&count.to_le_bytes());
        for span in spans {
            out.extend_from_slice(&span.key_len.to_le_bytes());
            out.extend_from_slice(&span.value_len.to_le_bytes());
        }
        // Spans are contiguous and in order, so their bytes are one slice.
        out.extend_from_slice(bytes);
    }

    /// Appends records `skip..skip + take` of a chunk written by
    /// [`Batch::encode`] to this batch; returns how many it held in all.
    ///
    /// # Errors
    /// A message when the chunk is truncated.
    pub fn decode_range(
        &mut self,
        chunk: &[u8],
        skip: usize,
        take: usize,
    ) -> Result<usize, String> {
        let truncated = || "a log chunk is truncated".to_owned();
        let count = read_u32(chunk, 0).ok_or_else(truncated)? as usize;
        let header = 4 + 8 * count;
        if chunk.len() < header {
            return Err(truncated());
        }
        let mut at = header;
        let end = (skip + take).min(count);
        for index in 0..end {
            let key_len = read_u32(chunk, 4 + 8 * index).ok_or_else(truncated)? as usize;
            let value_len = read_u32(chunk, 8 + 8 * index).ok_or_else(truncated)? as usize;
            let next = at + key_len + value_len;
            if next > chunk.len() {
                return Err(truncated());
            }
            if index >= skip {
                self.push(&chunk[at..at + key_len], &chunk[at + key_len..next]);
            }
            at = next;
        }
        Ok(count)
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// The positions of every newline in `data`.
fn memchr_iter(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_are_cut_without_losing_a_byte() {
        let batch = Batch::from_lines(b"a\nbb\nccc".to_vec(), 100).expect("lines");
        let values: Vec<&[u8]> = batch.iter().map(|r| r.value).collect();
        assert_eq!(values, [&b"a\n"[..], b"bb\n", b"ccc\n"]);
        assert_eq!(batch.into_values().expect("no keys"), b"a\nbb\nccc\n");
        assert!(
            Batch::from_lines(Vec::new(), 100)
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn a_line_past_the_limit_is_refused_at_its_offset() {
        assert_eq!(
            Batch::from_lines(b"ok\ntoo long\n".to_vec(), 5),
            Err(FramingError::RecordTooLarge { offset: 3, max: 5 })
        );
    }

    proptest! {
        #[test]
        fn any_range_of_a_chunk_decodes_as_pushed(
            records in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..5), proptest::collection::vec(any::<u8>(), 0..9)), 0..30),
            skip in 0usize..35,
            take in 0usize..35,
        ) {
            let mut batch = Batch::new();
            for (key, value) in &records {
                batch.push(key, value);
            }
            let mut chunk = Vec::new();
            batch.encode(&mut chunk);
            let mut range = Batch::new();
            prop_assert_eq!(range.decode_range(&chunk, skip, take).expect("valid"), records.len());
            let expected: Vec<(Vec<u8>, Vec<u8>)> = records.iter().skip(skip).take(take).cloned().collect();
            let got: Vec<(Vec<u8>, Vec<u8>)> = range.iter().map(|r| (r.key.to_vec(), r.value.to_vec())).collect();
            prop_assert_eq!(got, expected);
            let cut = &chunk[..chunk.len() - 1];
            prop_assert!(Batch::new().decode_range(cut, 0, records.len()).is_err());
        }
    }
}
