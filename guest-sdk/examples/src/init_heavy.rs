//! `init-heavy`: answers lookups in a 1M-entry table built at init.
//!
//! The table maps each key `k` in `0..1_000_000` to
//! `(k * 2654435761) mod 2^32` (Knuth's multiplicative hash), the same table
//! as the Go example `go-init-heavy`. Building it is the expensive part that
//! pre-initialization moves to deploy time.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::OnceLock;

/// How many keys the table holds.
pub const TABLE_SIZE: u32 = 1_000_000;

static TABLE: OnceLock<HashMap<u32, u32>> = OnceLock::new();

/// The value of `key` in the table, by formula (for tests and checks).
pub fn expected(key: u32) -> Option<u32> {
    (key < TABLE_SIZE).then(|| key.wrapping_mul(2_654_435_761))
}

fn build() -> HashMap<u32, u32> {
    (0..TABLE_SIZE)
        .map(|k| (k, k.wrapping_mul(2_654_435_761)))
        .collect()
}

/// Builds the table if it is not built yet: the init hook when
/// pre-initialized, the first lookup otherwise.
pub fn table() -> &'static HashMap<u32, u32> {
    TABLE.get_or_init(build)
}

/// For each line of `input` (a decimal key), writes `k -> v`, or
/// `k -> missing` for a key outside the table, or `LINE -> invalid` for a
/// line that is not a number.
///
/// # Errors
/// The error of a failed read or write.
pub fn run(mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let table = table();
    let mut line = Vec::new();
    while input.read_until(b'\n', &mut line)? != 0 {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        match text.trim().parse::<u32>() {
            Ok(key) => match table.get(&key) {
                Some(value) => writeln!(output, "{key} -> {value}")?,
                None => writeln!(output, "{key} -> missing")?,
            },
            Err(_) => writeln!(output, "{text} -> invalid")?,
        }
        line.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(input: &str) -> String {
        let mut out = Vec::new();
        run(input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn keys_in_the_table_give_their_value() {
        assert_eq!(
            lookup("0\n1\n999999\n"),
            format!(
                "0 -> 0\n1 -> 2654435761\n999999 -> {}\n",
                expected(999_999).unwrap()
            )
        );
    }

    #[test]
    fn other_keys_are_missing_and_other_lines_invalid() {
        assert_eq!(
            lookup("1000000\nabc\n"),
            "1000000 -> missing\nabc -> invalid\n"
        );
    }

    #[test]
    fn the_table_matches_its_formula() {
        let table = table();
        assert_eq!(table.len(), TABLE_SIZE as usize);
        assert_eq!(table.get(&12_345).copied(), expected(12_345));
    }
}
