//! `head [-n N]`: writes the first N lines of `faasin` (10 by default).

use std::io::{BufRead, Write};

use faasrt_guest::Error;

/// How many lines `head` writes without `-n`.
pub const DEFAULT_LINES: u64 = 10;

/// Writes the first N lines of `input` to `output`, N from `-n N` or `-nN`
/// in `args` (default 10). Lines are written as they are; a last line
/// without a newline stays without one.
///
/// Reading stops as soon as N lines are written, so `head` ends even on an
/// endless input; whatever the producer writes after that meets a broken pipe.
///
/// # Errors
///
/// A usage error (status 2) for other arguments or an N that is not a
/// non-negative integer; the I/O error of a failed read or write.
pub fn run(args: &[String], input: impl BufRead, output: impl Write) -> Result<(), Error> {
    let lines = parse_args(args)?;
    copy_lines(input, output, lines)?;
    Ok(())
}

fn parse_args(args: &[String]) -> Result<u64, Error> {
    let count = match args {
        [] => return Ok(DEFAULT_LINES),
        [flag, count] if flag == "-n" => count.as_str(),
        [flag] if flag.starts_with("-n") && flag.len() > 2 => &flag[2..],
        _ => return Err(Error::usage("usage: head [-n N]")),
    };
    count
        .parse()
        .map_err(|_| Error::usage(format!("invalid number of lines: '{count}'")))
}

/// Copies the first `lines` lines of `input` to `output`, chunk by chunk,
/// without reading past the end of the last line it writes.
///
/// # Errors
///
/// Returns the error of the failed read or write.
pub fn copy_lines(
    mut input: impl BufRead,
    mut output: impl Write,
    lines: u64,
) -> std::io::Result<()> {
    let mut left = lines;
    while left > 0 {
        let chunk = match input.fill_buf() {
            Ok([]) => break,
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Take the chunk up to the `left`-th newline, or all of it.
        let mut take = chunk.len();
        for (i, _) in chunk.iter().enumerate().filter(|&(_, &b)| b == b'\n') {
            left -= 1;
            if left == 0 {
                take = i + 1;
                break;
            }
        }
        output.write_all(&chunk[..take])?;
        input.consume(take);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{self, BufReader, Read};

    use super::*;

    fn head(args: &[&str], input: &[u8]) -> Result<Vec<u8>, Error> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut out = Vec::new();
        run(&args, input, &mut out)?;
        Ok(out)
    }

    fn numbered(n: u64) -> Vec<u8> {
        (1..=n)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect()
    }

    #[test]
    fn writes_ten_lines_by_default() {
        assert_eq!(head(&[], &numbered(20)).unwrap(), numbered(10));
    }

    #[test]
    fn accepts_n_as_separate_and_attached_argument() {
        assert_eq!(head(&["-n", "3"], &numbered(5)).unwrap(), numbered(3));
        assert_eq!(head(&["-n3"], &numbered(5)).unwrap(), numbered(3));
    }

    #[test]
    fn zero_lines_writes_nothing() {
        assert!(head(&["-n", "0"], &numbered(5)).unwrap().is_empty());
    }

    #[test]
    fn short_input_is_copied_whole_including_unterminated_last_line() {
        assert_eq!(head(&[], b"a\nb").unwrap(), b"a\nb");
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["-n"][..],
            &["-n", "x"],
            &["-n", "-1"],
            &["-x"],
            &["-n", "1", "2"],
        ] {
            assert_eq!(head(args, b"").unwrap_err().exit_status(), 2, "{args:?}");
        }
    }

    /// An endless stream of "y\n" that counts how much was read from it.
    struct Yes {
        read: u64,
    }

    impl Read for Yes {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            for pair in buf.chunks_mut(2) {
                pair.copy_from_slice(&b"y\n"[..pair.len()]);
            }
            self.read += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn stops_reading_after_n_lines_of_an_endless_input() {
        let mut yes = Yes { read: 0 };
        let mut out = Vec::new();
        copy_lines(BufReader::with_capacity(64, &mut yes), &mut out, 100).unwrap();
        assert_eq!(out, b"y\n".repeat(100));
        // Only whole buffers were read, no more than needed for 100 lines.
        assert!(yes.read <= 200 + 64, "read {} bytes", yes.read);
    }

    #[test]
    fn leaves_the_rest_of_the_input_unread() {
        let mut input = &b"1\n2\n3\n"[..];
        let mut out = Vec::new();
        copy_lines(&mut input, &mut out, 2).unwrap();
        assert_eq!(out, b"1\n2\n");
        assert_eq!(input, b"3\n");
    }
}
