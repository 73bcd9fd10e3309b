//! `yes [WORD]`: writes WORD (default `y`) and a newline forever.

use std::io::{self, Write};

/// Writes `args[0]` (or `y`) and a newline until a write fails, which is
/// how it ends: with a broken pipe once its reader has gone, as `yes` does.
///
/// # Errors
/// The error of the write that failed (always, eventually).
pub fn run(args: &[String], mut output: impl Write) -> io::Result<()> {
    let word = args.first().map_or("y", String::as_str);
    // Fill a buffer with whole lines so each write carries many of them.
    let line = format!("{word}\n");
    let repeat = (8192 / line.len()).max(1);
    let block = line.repeat(repeat);
    loop {
        output.write_all(block.as_bytes())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that accepts `limit` bytes, then fails like a closed pipe.
    struct Closing {
        taken: Vec<u8>,
        limit: usize,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.taken.len() >= self.limit {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.limit - self.taken.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn repeats_its_word_until_the_pipe_breaks() {
        let mut sink = Closing {
            taken: Vec::new(),
            limit: 10,
        };
        let error = run(&["ab".into()], &mut sink).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(sink.taken, b"ab\nab\nab\na");
    }
}
