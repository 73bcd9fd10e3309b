//! The record protocol: how a stage that uses the record API (every keyed
//! stage, and every stage of a `frames` stream) is handed a batch of
//! records with the state of their keys, and how it answers with what it
//! emits and what it writes.
//!
//! One invocation per batch, on `faasin`:
//!
//! ```text
//! batch  = "fsb2", u32 key_count, key*, u32 record_count, record*
//! key    = bytes key, u8 has_value, [bytes value]   each key of the batch once,
//!                                                   with its stored value if any
//! record = u32 key_index, bytes value               its key by index into the keys
//! bytes  = u32 length (little-endian), the bytes
//! ```
//!
//! and on `faasout`, in order, any number of:
//!
//! ```text
//! 'E' bytes key, bytes value    emit a record downstream
//! 'P' bytes key, bytes value    the key's state is now value
//! 'D' bytes key                 the key's state is deleted
//! ```
//!
//! Records name their key by index, so a function finds a key's state by
//! indexing an array, never by hashing or comparing keys. The SDKs
//! (`faasrt_guest::records`, Go `faasrt.HandleRecords`) hide all of it
//! behind `get`, `put`, `delete` and `emit`. This is the StateFun "remote
//! function" model: the state travels with the batch, so the host stays
//! its only owner, a native function can be stateful too, and a barrier
//! can never fall inside a batch, since it is delivered between two
//! invocations.

/// The first four bytes of a batch.
pub const BATCH_MAGIC: &[u8; 4] = b"fsb2";

/// What a record-API stage asked for, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A record for the next stage (or the output log).
    Emit {
        /// Its key (ignored in `lines` framing).
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// The state of `key` is now `value`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// Its new value.
        value: Vec<u8>,
    },
    /// The state of `key` is deleted.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

/// One effect of an answer, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectRef<'a> {
    /// See [`Effect::Emit`].
    Emit {
        /// Its key.
        key: &'a [u8],
        /// Its value.
        value: &'a [u8],
    },
    /// See [`Effect::Put`].
    Put {
        /// The key.
        key: &'a [u8],
        /// Its new value.
        value: &'a [u8],
    },
    /// See [`Effect::Delete`].
    Delete {
        /// The key.
        key: &'a [u8],
    },
}

/// Why a stage's answer is not in the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The answer ends inside an entry.
    #[error("the function's output ends inside the entry at byte {offset} (record protocol)")]
    Truncated {
        /// Where the entry starts.
        offset: usize,
    },
    /// An entry starts with a byte that is none of `E`, `P`, `D`.
    #[error(
        "the function's output has {tag:#04x} at byte {offset} where an entry (E, P or D) starts: \
         a record-API stage must answer in the record protocol (use the SDK's records API)"
    )]
    UnknownTag {
        /// The byte.
        tag: u8,
        /// Where.
        offset: usize,
    },
}

/// Writes one batch: each key once (in `keys`' order) with its stored
/// value if any, then each record with the index of its key.
pub fn encode_batch<'a>(
    keys: &[(&[u8], Option<&[u8]>)],
    records: impl ExactSizeIterator<Item = (u32, &'a [u8])>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(BATCH_MAGIC);
    put_len(keys.len(), out);
    for (key, value) in keys {
        put_bytes(key, out);
        match value {
            Some(value) => {
                out.push(1);
                put_bytes(value, out);
            }
            None => out.push(0),
        }
    }
    put_len(records.len(), out);
    for (index, value) in records {
        out.extend_from_slice(&index.to_le_bytes());
        put_bytes(value, out);
    }
}

/// Reads a stage's answer.
///
/// # Errors
/// [`ProtocolError`] at the first entry that is not in the protocol.
pub fn decode_effects(answer: &[u8]) -> Result<Vec<Effect>, ProtocolError> {
    let mut effects = Vec::new();
    for_each_effect(answer, |effect| {
        effects.push(match effect {
            EffectRef::Emit { key, value } => Effect::Emit {
                key: key.to_vec(),
                value: value.to_vec(),
            },
            EffectRef::Put { key, value } => Effect::Put {
                key: key.to_vec(),
                value: value.to_vec(),
            },
            EffectRef::Delete { key } => Effect::Delete { key: key.to_vec() },
        });
        Ok::<(), ProtocolError>(())
    })?;
    Ok(effects)
}

/// Calls `apply` with each effect of a stage's answer, in order, copying
/// nothing. The answer is checked as it is read: effects before a bad
/// entry have been applied when the error comes, so a caller drops what it
/// did with them (the replica fails, and its epoch is rolled back).
///
/// # Errors
/// [`ProtocolError`] at the first entry that is not in the protocol, or
/// what `apply` returned.
pub fn for_each_effect<'a, E: From<ProtocolError>>(
    answer: &'a [u8],
    mut apply: impl FnMut(EffectRef<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = Reader::new(answer);
    while !reader.is_empty() {
        let offset = reader.position();
        let truncated = || ProtocolError::Truncated { offset };
        let tag = reader.u8().ok_or_else(truncated)?;
        let effect = match tag {
            b'E' | b'P' => {
                let key = reader.bytes().ok_or_else(truncated)?;
                let value = reader.bytes().ok_or_else(truncated)?;
                if tag == b'E' {
                    EffectRef::Emit { key, value }
                } else {
                    EffectRef::Put { key, value }
                }
            }
            b'D' => EffectRef::Delete {
                key: reader.bytes().ok_or_else(truncated)?,
            },
            other => return Err(ProtocolError::UnknownTag { tag: other, offset }.into()),
        };
        apply(effect)?;
    }
    Ok(())
}

/// Writes one effect as a stage would (the SDKs do the same).
pub fn encode_effect(effect: &Effect, out: &mut Vec<u8>) {
    match effect {
        Effect::Emit { key, value } => {
            out.push(b'E');
            put_bytes(key, out);
            put_bytes(value, out);
        }
        Effect::Put { key, value } => {
            out.push(b'P');
            put_bytes(key, out);
            put_bytes(value, out);
        }
        Effect::Delete { key } => {
            out.push(b'D');
            put_bytes(key, out);
        }
    }
}

fn put_len(len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(len).expect("a protocol length is under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    put_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Reads little-endian lengths and length-prefixed bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn position(&self) -> usize {
        self.at
    }

    fn u8(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        let raw: [u8; 4] = self.bytes.get(self.at..self.at + 4)?.try_into().ok()?;
        self.at += 4;
        Some(u32::from_le_bytes(raw))
    }

    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let bytes = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn effect() -> impl Strategy<Value = Effect> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..16);
        prop_oneof![
            (bytes(), bytes()).prop_map(|(key, value)| Effect::Emit { key, value }),
            (bytes(), bytes()).prop_map(|(key, value)| Effect::Put { key, value }),
            bytes().prop_map(|key| Effect::Delete { key }),
        ]
    }

    proptest! {
        #[test]
        fn effects_decode_as_they_were_encoded(effects in proptest::collection::vec(effect(), 0..20)) {
            let mut out = Vec::new();
            for effect in &effects {
                encode_effect(effect, &mut out);
            }
            prop_assert_eq!(decode_effects(&out).expect("valid"), effects);
        }

        #[test]
        fn a_cut_answer_is_refused_never_misread(effects in proptest::collection::vec(effect(), 1..8), cut in 1usize..64) {
            let mut out = Vec::new();
            for effect in &effects {
                encode_effect(effect, &mut out);
            }
            let cut = out.len() - cut.min(out.len() - 1).max(1);
            // A cut at an entry's boundary is a valid shorter answer: a
            // prefix of the effects. Anywhere else it is refused.
            match decode_effects(&out[..cut]) {
                Ok(prefix) => prop_assert_eq!(&prefix[..], &effects[..prefix.len()]),
                Err(error) => {
                    let truncated = matches!(error, ProtocolError::Truncated { .. });
                    prop_assert!(truncated, "refused as {:?}", error);
                }
            }
        }
    }

    #[test]
    fn a_batch_is_laid_out_as_documented() {
        let mut out = Vec::new();
        let keys: [(&[u8], Option<&[u8]>); 2] = [(b"k", Some(b"7")), (b"n", None)];
        encode_batch(
            &keys,
            [(0, &b"v"[..]), (1, &b"w"[..])].into_iter(),
            &mut out,
        );
        let mut expected = b"fsb2".to_vec();
        expected.extend_from_slice(b"\x02\0\0\0");
        expected.extend_from_slice(b"\x01\0\0\0k\x01\x01\0\0\x007");
        expected.extend_from_slice(b"\x01\0\0\0n\0");
        expected.extend_from_slice(b"\x02\0\0\0");
        expected.extend_from_slice(b"\0\0\0\0\x01\0\0\0v");
        expected.extend_from_slice(b"\x01\0\0\0\x01\0\0\0w");
        assert_eq!(out, expected);
    }

    #[test]
    fn plain_text_is_not_mistaken_for_effects() {
        assert_eq!(
            decode_effects(b"hello\n"),
            Err(ProtocolError::UnknownTag {
                tag: b'h',
                offset: 0
            })
        );
    }
}
