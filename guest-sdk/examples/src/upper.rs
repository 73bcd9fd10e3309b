//! `upper`: copies `faasin` to `faasout` with ASCII letters uppercased.

use std::io::{self, Read, Write};

const BUFFER_SIZE: usize = 64 * 1024;

/// Copies `input` to `output`, uppercasing ASCII letters. Other bytes,
/// including those of multi-byte UTF-8 characters, pass through unchanged.
///
/// # Errors
///
/// Returns the error of the failed read or write.
pub fn run(mut input: impl Read, mut output: impl Write) -> io::Result<()> {
    let mut buffer = vec![0; BUFFER_SIZE];
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &mut buffer[..n];
        chunk.make_ascii_uppercase();
        output.write_all(chunk)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        run(input, &mut out).unwrap();
        out
    }

    #[test]
    fn uppercases_ascii_letters() {
        assert_eq!(upper(b"Hello, world 42!\n"), b"HELLO, WORLD 42!\n");
    }

    #[test]
    fn leaves_non_ascii_bytes_alone() {
        assert_eq!(upper("é ß ä".as_bytes()), "é ß ä".as_bytes());
        assert_eq!(upper(b"a\xff\xfeb\x00"), b"A\xff\xfeB\x00");
    }
}
