//! `words`: one word per line, lowercased: the split step in front of a
//! keyed word count. Words are runs of ASCII letters, digits and `'`;
//! everything else separates them.

use std::io::{self, BufRead, Write};

/// Writes each word of `input` on its own line, ASCII-lowercased.
///
/// # Errors
///
/// Returns the error of the failed read or write.
pub fn run(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    for line in input.split(b'\n') {
        let line = line?;
        for word in line
            .split(|b| !(b.is_ascii_alphanumeric() || *b == b'\''))
            .filter(|w| !w.is_empty())
        {
            output.write_all(&word.to_ascii_lowercase())?;
            output.write_all(b"\n")?;
        }
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_anything_but_letters_digits_and_apostrophes() {
        let mut out = Vec::new();
        run(&b"It's a Test, a TEST!\n\n42 x\n"[..], &mut out).unwrap();
        assert_eq!(out, b"it's\na\ntest\na\ntest\n42\nx\n");
    }
}
