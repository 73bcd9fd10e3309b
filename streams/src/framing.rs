//! Records on an edge: cut from a byte stream as it arrives, in chunks of
//! any size, and written back. `lines` records are lines (newline
//! included) whose key, for a keyed stage, is one of their fields; `frames`
//! records are `u32 key length, key, u32 value length, value`
//! (little-endian). A record longer than the limit is refused where it
//! enters, naming its offset: nothing is cut or dropped silently.

use crate::spec::KeySpec;

/// Largest record accepted when a stream sets no limit: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Why bytes are not a valid sequence of records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A record is longer than the limit.
    #[error("the record at byte {offset} is longer than the limit of {max} bytes")]
    RecordTooLarge {
        /// Where the record starts in the stream.
        offset: u64,
        /// The limit.
        max: usize,
    },
    /// A line has fewer fields than its key field needs.
    #[error(
        "the record at byte {offset} has {fields} field(s) split at {delimiter:?}, and its key is field {field} (counted from 0)"
    )]
    MissingKeyField {
        /// Where the record starts in the stream.
        offset: u64,
        /// The key's field.
        field: usize,
        /// How many fields the line has.
        fields: usize,
        /// The delimiter.
        delimiter: String,
    },
    /// The stream ended inside a frame.
    #[error("the stream ends inside the frame that starts at byte {offset}")]
    TruncatedFrame {
        /// Where the frame starts in the stream.
        offset: u64,
    },
}

/// One record, where it starts in its stream, and its key when the framing
/// carries one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its first byte's offset in the stream.
    pub offset: u64,
    /// The frame's key (`frames` only; a `lines` key is a field of the
    /// value, see [`line_key`]).
    pub key: Option<Vec<u8>>,
    /// The line (newline included) or the frame's value.
    pub value: Vec<u8>,
}

/// Cuts lines out of a byte stream.
#[derive(Debug)]
pub struct LineDecoder {
    pending: Vec<u8>,
    /// Offset of `pending`'s first byte.
    offset: u64,
    max: usize,
}

impl LineDecoder {
    /// A decoder refusing lines longer than `max` bytes (newline included).
    pub fn new(max: usize) -> Self {
        LineDecoder {
            pending: Vec::new(),
            offset: 0,
            max,
        }
    }

    /// The complete lines `chunk` finishes, in order.
    ///
    /// # Errors
    /// [`FramingError::RecordTooLarge`] as soon as a line passes the limit,
    /// even before its end arrives.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Record>, FramingError> {
        let mut records = Vec::new();
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(at + 1);
            self.pending.extend_from_slice(line);
            self.check_size()?;
            let value = std::mem::take(&mut self.pending);
            let offset = self.offset;
            self.offset += value.len() as u64;
            records.push(Record {
                offset,
                key: None,
                value,
            });
            rest = after;
        }
        self.pending.extend_from_slice(rest);
        self.check_size()?;
        Ok(records)
    }

    /// The last line, when the stream ended without a newline after it: a
    /// record as it is, as shell tools take it.
    pub fn finish(self) -> Option<Record> {
        if self.pending.is_empty() {
            return None;
        }
        Some(Record {
            offset: self.offset,
            key: None,
            value: self.pending,
        })
    }

    fn check_size(&self) -> Result<(), FramingError> {
        if self.pending.len() > self.max {
            return Err(FramingError::RecordTooLarge {
                offset: self.offset,
                max: self.max,
            });
        }
        Ok(())
    }
}

/// The key of a `lines` record: field `key.field` of the line without its
/// newline (and a `\r` before it), split at `key.delimiter`.
///
/// # Errors
/// [`FramingError::MissingKeyField`] when the line has fewer fields.
pub fn line_key<'a>(record: &'a Record, key: &KeySpec) -> Result<&'a [u8], FramingError> {
    key_field(&record.value, key).ok_or_else(|| FramingError::MissingKeyField {
        offset: record.offset,
        field: key.field.unwrap_or(0),
        fields: field_count(&record.value, key),
        delimiter: key.delimiter.clone(),
    })
}

/// Field `key.field` of `line` (without its newline, and a `\r` before
/// it), split at `key.delimiter`; `None` when the line has fewer fields.
pub fn key_field<'a>(line: &'a [u8], key: &KeySpec) -> Option<&'a [u8]> {
    let mut rest = trim_line(line);
    let delimiter = key.delimiter.as_bytes();
    for _ in 0..key.field.unwrap_or(0) {
        let at = find(rest, delimiter)?;
        rest = &rest[at + delimiter.len()..];
    }
    Some(match find(rest, delimiter) {
        Some(at) => &rest[..at],
        None => rest,
    })
}

/// How many fields `line` has, split at `key.delimiter`.
fn field_count(line: &[u8], key: &KeySpec) -> usize {
    let delimiter = key.delimiter.as_bytes();
    let mut rest = trim_line(line);
    let mut fields = 1;
    while let Some(at) = find(rest, delimiter) {
        fields += 1;
        rest = &rest[at + delimiter.len()..];
    }
    fields
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where `needle` (not empty) first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => memchr::memchr(*byte, haystack),
        _ => memchr::memmem::find(haystack, needle),
    }
}

/// Cuts frames out of a byte stream.
#[derive(Debug)]
pub struct FrameDecoder {
    pending: Vec<u8>,
    offset: u64,
    max: usize,
}

impl FrameDecoder {
    /// A decoder refusing frames whose key and value together pass `max`
    /// bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            pending: Vec::new(),
            offset: 0,
            max,
        }
    }

    /// The complete frames `chunk` finishes, in order.
    ///
    /// # Errors
    /// [`FramingError::RecordTooLarge`] as soon as a frame's lengths say it
    /// passes the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Record>, FramingError> {
        self.pending.extend_from_slice(chunk);
        let mut records = Vec::new();
        let mut start = 0;
        while let Some(frame) = self.next_frame(start)? {
            records.push(Record {
                offset: self.offset + start as u64,
                key: Some(frame.key),
                value: frame.value,
            });
            start += frame.len;
        }
        self.pending.drain(..start);
        self.offset += start as u64;
        Ok(records)
    }

    /// Checks that the stream did not end inside a frame.
    ///
    /// # Errors
    /// [`FramingError::TruncatedFrame`] when it did.
    pub fn finish(self) -> Result<(), FramingError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(FramingError::TruncatedFrame {
                offset: self.offset,
            })
        }
    }

    /// The frame starting at `start` in `pending`, or `None` while it is
    /// incomplete.
    fn next_frame(&self, start: usize) -> Result<Option<Frame>, FramingError> {
        let bytes = &self.pending[start..];
        let too_large = || FramingError::RecordTooLarge {
            offset: self.offset + start as u64,
            max: self.max,
        };
        let Some(key_len) = read_len(bytes, 0) else {
            return Ok(None);
        };
        if key_len > self.max {
            return Err(too_large());
        }
        let Some(value_len) = read_len(bytes, 4 + key_len) else {
            return Ok(None);
        };
        if key_len + value_len > self.max {
            return Err(too_large());
        }
        let len = 8 + key_len + value_len;
        if bytes.len() < len {
            return Ok(None);
        }
        Ok(Some(Frame {
            key: bytes[4..4 + key_len].to_vec(),
            value: bytes[8 + key_len..len].to_vec(),
            len,
        }))
    }
}

/// One decoded frame and how many bytes it took.
struct Frame {
    key: Vec<u8>,
    value: Vec<u8>,
    len: usize,
}

/// The little-endian `u32` at `at`, when all four bytes are there.
fn read_len(bytes: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw) as usize)
}

/// Appends one frame to `out`.
///
/// # Panics
/// When `key` or `value` is 4 GiB or more (no frame can say that length).
pub fn encode_frame(key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let len = |part: &[u8]| u32::try_from(part.len()).expect("a frame part is under 4 GiB");
    out.extend_from_slice(&len(key).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&len(value).to_le_bytes());
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(field: usize, delimiter: &str) -> KeySpec {
        KeySpec {
            field: Some(field),
            delimiter: delimiter.into(),
        }
    }

    fn record(line: &str) -> Record {
        Record {
            offset: 7,
            key: None,
            value: line.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_line_key_is_its_field() {
        assert_eq!(line_key(&record("a b c\n"), &key(1, " ")), Ok(&b"b"[..]));
        assert_eq!(line_key(&record("a,b,c\r\n"), &key(2, ",")), Ok(&b"c"[..]));
        assert_eq!(line_key(&record("a::b"), &key(1, "::")), Ok(&b"b"[..]));
        assert_eq!(line_key(&record("a  b\n"), &key(1, " ")), Ok(&b""[..]));
        assert_eq!(
            line_key(&record("a b\n"), &key(2, " ")),
            Err(FramingError::MissingKeyField {
                offset: 7,
                field: 2,
                fields: 2,
                delimiter: " ".into()
            })
        );
    }

    #[test]
    fn a_line_past_the_limit_is_refused_before_its_end() {
        let mut decoder = LineDecoder::new(8);
        assert_eq!(decoder.push(b"short\n").expect("fits").len(), 1);
        assert_eq!(
            decoder.push(b"much too long"),
            Err(FramingError::RecordTooLarge { offset: 6, max: 8 })
        );
    }

    #[test]
    fn a_frame_past_the_limit_is_refused_from_its_lengths() {
        let mut out = Vec::new();
        encode_frame(b"k", &[0; 20], &mut out);
        let mut decoder = FrameDecoder::new(16);
        // Only the header has arrived: its lengths already say too much.
        assert_eq!(
            decoder.push(&out[..9]),
            Err(FramingError::RecordTooLarge { offset: 0, max: 16 })
        );
    }

    #[test]
    fn a_stream_that_ends_inside_a_frame_says_so() {
        let mut out = Vec::new();
        encode_frame(b"key", b"value", &mut out);
        encode_frame(b"key", b"cut", &mut out);
        let mut decoder = FrameDecoder::new(64);
        let records = decoder.push(&out[..out.len() - 1]).expect("valid so far");
        assert_eq!(records.len(), 1);
        assert_eq!(
            decoder.finish(),
            Err(FramingError::TruncatedFrame { offset: 16 })
        );
    }

    proptest! {
        /// However the bytes are cut into chunks, the same lines come out,
        /// at their offsets, and nothing is lost.
        #[test]
        fn lines_do_not_depend_on_the_chunking(
            lines in proptest::collection::vec("[a-z ]{0,12}", 0..20),
            last in "[a-z]{0,5}",
            cuts in proptest::collection::vec(0usize..200, 0..10),
        ) {
            let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            text.push_str(&last);
            let bytes = text.as_bytes();
            let mut decoder = LineDecoder::new(64);
            let mut got = Vec::new();
            let mut at = 0;
            let mut cuts = cuts.clone();
            cuts.sort_unstable();
            for cut in cuts.into_iter().map(|c| c.min(bytes.len())).chain([bytes.len()]) {
                if cut >= at {
                    got.extend(decoder.push(&bytes[at..cut]).expect("lines fit"));
                    at = cut;
                }
            }
            got.extend(decoder.finish());
            let joined: Vec<u8> = got.iter().flat_map(|r| r.value.clone()).collect();
            prop_assert_eq!(&joined[..], bytes);
            let mut offset = 0;
            for record in &got {
                prop_assert_eq!(record.offset, offset);
                offset += record.value.len() as u64;
            }
            prop_assert_eq!(got.len(), lines.len() + usize::from(!last.is_empty()));
        }

        /// Frames come back as they were written, however they are chunked.
        #[test]
        fn frames_round_trip_through_any_chunking(
            frames in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..8), proptest::collection::vec(any::<u8>(), 0..40)),
                0..12,
            ),
            chunk in 1usize..17,
        ) {
            let mut bytes = Vec::new();
            for (key, value) in &frames {
                encode_frame(key, value, &mut bytes);
            }
            let mut decoder = FrameDecoder::new(64);
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                got.extend(decoder.push(piece).expect("frames fit"));
            }
            decoder.finish().expect("whole frames");
            let got: Vec<(Vec<u8>, Vec<u8>)> =
                got.into_iter().map(|r| (r.key.expect("frames carry keys"), r.value)).collect();
            prop_assert_eq!(got, frames);
        }
    }
}
