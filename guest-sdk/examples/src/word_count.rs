//! `word-count`: a keyed stream stage that counts its records per key and
//! emits `KEY COUNT` for each, with the count kept in the stream's state.

use faasrt_guest::records::{Record, State};

/// Handles one record: the key's count goes up by one, and `KEY COUNT`
/// goes downstream.
///
/// # Errors
///
/// Never: a stored count that is not a number counts as 0.
pub fn handle(record: &Record<'_>, state: &mut State) -> Result<(), faasrt_guest::Error> {
    let count = state
        .get()
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    let mut digits = [0u8; 20];
    let digits = decimal(count, &mut digits);
    state.put_slice(digits);
    state.emit_parts(record.key, &[record.key, b" ", digits, b"\n"]);
    Ok(())
}

/// `n` in decimal, written at the end of `buffer`.
fn decimal(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasrt_guest::records::handle_batch;

    /// A batch of `records` (each its own key and value) in the host's
    /// layout, with key `a` stored at 41.
    fn batch(records: &[&[u8]]) -> Vec<u8> {
        let part = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        };
        let mut keys: Vec<&[u8]> = Vec::new();
        for key in records {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
        let mut out = b"fsb2".to_vec();
        out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for key in &keys {
            part(&mut out, key);
            if *key == b"a" {
                out.push(1);
                part(&mut out, b"41");
            } else {
                out.push(0);
            }
        }
        out.extend_from_slice(&(records.len() as u32).to_le_bytes());
        for key in records {
            let index = keys.iter().position(|k| k == key).expect("listed") as u32;
            out.extend_from_slice(&index.to_le_bytes());
            part(&mut out, key);
        }
        out
    }

    #[test]
    fn decimals_are_written_right() {
        let mut buffer = [0u8; 20];
        for n in [0, 7, 10, 4096, u64::MAX] {
            assert_eq!(decimal(n, &mut buffer), n.to_string().as_bytes());
        }
    }

    #[test]
    fn counts_on_from_the_stored_value() {
        let answer = handle_batch(&batch(&[b"a", b"b", b"a"]), handle).unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.contains("a 42\n") && text.contains("b 1\n") && text.contains("a 43\n"),
            "{text}"
        );
        assert!(answer.ends_with(b"P\x01\0\0\0b\x01\0\0\x001"), "{text}");
    }
}
