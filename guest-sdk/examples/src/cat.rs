//! `cat [-b BYTES]`: copies `faasin` to `faasout` unchanged, BYTES (default
//! 64 KiB) at a time, passing on each read at once as `cat` does.

use std::io::{self, Read, Write};

/// The copy buffer: large, so that each host call moves a lot of bytes.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// The buffer size `args` ask for: `-b BYTES`, else [`BUFFER_SIZE`].
///
/// # Errors
/// A usage error for anything else.
pub fn buffer_size(args: &[String]) -> Result<usize, faasrt_guest::Error> {
    match args {
        [] => Ok(BUFFER_SIZE),
        [flag, bytes] if flag == "-b" => bytes
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| faasrt_guest::Error::usage(format!("cat: bad buffer size {bytes:?}"))),
        _ => Err(faasrt_guest::Error::usage("usage: cat [-b BYTES]")),
    }
}

/// Copies `input` to `output`, `buffer_size` bytes at a time at most, until
/// EOF. Each read is written and flushed at once, so a short message is not
/// held back waiting for more (what a pipeline's latency depends on).
///
/// # Errors
///
/// Returns the error of the failed read or write (a broken pipe when the
/// consumer went away).
pub fn run(mut input: impl Read, mut output: impl Write, buffer_size: usize) -> io::Result<()> {
    let mut buffer = vec![0; buffer_size];
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        output.write_all(&buffer[..n])?;
        output.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_bytes_unchanged() {
        let input: Vec<u8> = (0..=255u8).cycle().take(3 * BUFFER_SIZE + 17).collect();
        let mut out = Vec::new();
        run(&input[..], &mut out, BUFFER_SIZE).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let mut out = Vec::new();
        run(&b""[..], &mut out, BUFFER_SIZE).unwrap();
        assert!(out.is_empty());
    }

    /// Counts the writes and flushes that reach it.
    #[derive(Default)]
    struct Recorder {
        bytes: Vec<u8>,
        flushes: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn reads_are_passed_on_in_chunks_of_the_buffer_size() {
        let input = vec![7u8; 10];
        let mut out = Recorder::default();
        run(&input[..], &mut out, 4).unwrap();
        assert_eq!(out.bytes, input);
        assert_eq!(out.flushes, 3, "4 + 4 + 2 bytes, each flushed");
    }

    #[test]
    fn buffer_size_comes_from_dash_b() {
        assert_eq!(buffer_size(&[]).unwrap(), BUFFER_SIZE);
        assert_eq!(buffer_size(&["-b".into(), "4096".into()]).unwrap(), 4096);
        assert!(buffer_size(&["-b".into(), "0".into()]).is_err());
        assert!(buffer_size(&["-x".into()]).is_err());
    }
}
