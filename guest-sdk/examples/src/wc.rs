//! `wc [-l] [-w] [-c]`: counts the lines, words and bytes of `faasin`.
//!
//! Output format: the selected counts in the order lines, words, bytes,
//! separated by single spaces and followed by a newline — `"%d %d %d\n"`
//! without flags, `"%d\n"` with one. Unlike coreutils, there is no padding
//! to column widths. Flags may be combined (`-lw`).

use std::io::{BufRead, Write};

use faasrt_guest::Error;

/// Line, word and byte counts of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Newline bytes; a last line without a newline is not counted, as in coreutils.
    pub lines: u64,
    /// Maximal runs of bytes that are not ASCII whitespace.
    pub words: u64,
    /// All bytes.
    pub bytes: u64,
}

/// Which counts to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Selection {
    lines: bool,
    words: bool,
    bytes: bool,
}

/// Counts `input` and writes the counts selected by `args` to `output`.
///
/// # Errors
///
/// A usage error (status 2) for an argument that is not `-l`, `-w`, `-c`
/// or a combination of them; the I/O error of a failed read or write.
pub fn run(args: &[String], input: impl BufRead, mut output: impl Write) -> Result<(), Error> {
    let selection = parse_args(args)?;
    let counts = count(input)?;
    let mut fields = Vec::with_capacity(3);
    if selection.lines {
        fields.push(counts.lines);
    }
    if selection.words {
        fields.push(counts.words);
    }
    if selection.bytes {
        fields.push(counts.bytes);
    }
    let line = fields
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    writeln!(output, "{line}")?;
    Ok(())
}

fn parse_args(args: &[String]) -> Result<Selection, Error> {
    if args.is_empty() {
        return Ok(Selection {
            lines: true,
            words: true,
            bytes: true,
        });
    }
    let mut selection = Selection {
        lines: false,
        words: false,
        bytes: false,
    };
    for arg in args {
        let flags = arg
            .strip_prefix('-')
            .filter(|flags| !flags.is_empty())
            .ok_or_else(|| usage(arg))?;
        for flag in flags.chars() {
            match flag {
                'l' => selection.lines = true,
                'w' => selection.words = true,
                'c' => selection.bytes = true,
                _ => return Err(usage(arg)),
            }
        }
    }
    Ok(selection)
}

fn usage(arg: &str) -> Error {
    Error::usage(format!(
        "invalid argument '{arg}'\nusage: wc [-l] [-w] [-c]"
    ))
}

/// Counts lines, words and bytes of `input`, streaming.
///
/// # Errors
///
/// Returns the error of the failed read.
pub fn count(mut input: impl BufRead) -> std::io::Result<Counts> {
    let mut counts = Counts::default();
    // Carried across chunks: a word may straddle two reads.
    let mut in_word = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok([]) => return Ok(counts),
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for &byte in chunk {
            if byte == b'\n' {
                counts.lines += 1;
            }
            if is_space(byte) {
                in_word = false;
            } else if !in_word {
                in_word = true;
                counts.words += 1;
            }
        }
        let n = chunk.len();
        counts.bytes += n as u64;
        input.consume(n);
    }
}

/// C's `isspace` in the C locale. Unlike `u8::is_ascii_whitespace` it
/// includes vertical tab, as coreutils' `wc` does.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    fn wc(args: &[&str], input: &[u8]) -> Result<String, Error> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut out = Vec::new();
        run(&args, input, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn prints_lines_words_bytes_without_flags() {
        assert_eq!(wc(&[], b"one two\nthree\n").unwrap(), "2 3 14\n");
    }

    #[test]
    fn last_line_without_newline_is_not_a_line() {
        assert_eq!(wc(&[], b"one two\nthree").unwrap(), "1 3 13\n");
    }

    #[test]
    fn empty_input_is_all_zeros() {
        assert_eq!(wc(&[], b"").unwrap(), "0 0 0\n");
    }

    #[test]
    fn single_flags_print_one_count() {
        let text = b"a b\nc\n";
        assert_eq!(wc(&["-l"], text).unwrap(), "2\n");
        assert_eq!(wc(&["-w"], text).unwrap(), "3\n");
        assert_eq!(wc(&["-c"], text).unwrap(), "6\n");
    }

    #[test]
    fn flags_print_in_fixed_order() {
        let text = b"a b\nc\n";
        assert_eq!(wc(&["-c", "-l"], text).unwrap(), "2 6\n");
        assert_eq!(wc(&["-cw"], text).unwrap(), "3 6\n");
    }

    #[test]
    fn unknown_flag_is_usage_error() {
        assert_eq!(wc(&["-x"], b"").unwrap_err().exit_status(), 2);
        assert_eq!(wc(&["-"], b"").unwrap_err().exit_status(), 2);
        assert_eq!(wc(&["file.txt"], b"").unwrap_err().exit_status(), 2);
    }

    #[test]
    fn words_are_runs_of_non_whitespace_bytes() {
        let counts = count(&b"  a\t\x0bb\r\n\xff\xfe c  "[..]).unwrap();
        assert_eq!(counts.words, 4);
    }

    #[test]
    fn words_straddling_buffer_boundaries_count_once() {
        let text = b"abcdef ghijkl\nmnop";
        let reader = BufReader::with_capacity(3, &text[..]);
        assert_eq!(
            count(reader).unwrap(),
            Counts {
                lines: 1,
                words: 3,
                bytes: text.len() as u64
            }
        );
    }
}
