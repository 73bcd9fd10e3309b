//! `cat`: copies `faasin` to `faasout` unchanged.

use std::io::{self, Read, Write};

/// The copy buffer: large, so that each host call moves a lot of bytes.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// Copies `input` to `output` through a 64 KiB buffer until EOF.
///
/// # Errors
///
/// Returns the error of the failed read or write (a broken pipe when the
/// consumer went away).
pub fn run(mut input: impl Read, mut output: impl Write) -> io::Result<()> {
    let mut buffer = vec![0; BUFFER_SIZE];
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        output.write_all(&buffer[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_bytes_unchanged() {
        let input: Vec<u8> = (0..=255u8).cycle().take(3 * BUFFER_SIZE + 17).collect();
        let mut out = Vec::new();
        run(&input[..], &mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let mut out = Vec::new();
        run(&b""[..], &mut out).unwrap();
        assert!(out.is_empty());
    }
}
