//! `grep PATTERN`: writes the lines of `faasin` that contain PATTERN.

use std::io::{BufRead, Write};

use faasrt_guest::Error;

/// Writes the lines of `input` that contain `args[0]` as a fixed byte string
/// (no regular expressions, no options). A last line without a newline is
/// still a line, and is written with a newline added, as GNU grep does.
///
/// # Errors
///
/// As grep's exit status: [`Error::status`]`(1)` if no line matched, a usage
/// error (status 2) unless there is exactly one argument, and the I/O error
/// of a failed read or write.
pub fn run(args: &[String], mut input: impl BufRead, mut output: impl Write) -> Result<(), Error> {
    let [pattern] = args else {
        return Err(Error::usage("usage: grep PATTERN"));
    };
    let pattern = pattern.as_bytes();
    let mut matched = false;
    let mut line = Vec::new();
    while input.read_until(b'\n', &mut line)? != 0 {
        if contains(&line, pattern) {
            matched = true;
            output.write_all(&line)?;
            if line.last() != Some(&b'\n') {
                output.write_all(b"\n")?;
            }
        }
        line.clear();
    }
    if matched {
        Ok(())
    } else {
        Err(Error::status(1))
    }
}

/// Whether `haystack` contains `needle`; the empty needle is everywhere.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    // Jump between occurrences of the first byte instead of comparing at
    // every position.
    let mut start = 0;
    while let Some(offset) = haystack[start..].iter().position(|&b| b == first) {
        let at = start + offset + 1;
        if haystack[at..].starts_with(rest) {
            return true;
        }
        start = at;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grep(args: &[&str], input: &[u8]) -> (Result<(), Error>, Vec<u8>) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut out = Vec::new();
        let result = run(&args, input, &mut out);
        (result, out)
    }

    #[test]
    fn writes_matching_lines_only() {
        let (result, out) = grep(&["an"], b"banana\napple\nmango\n");
        assert!(result.is_ok());
        assert_eq!(out, b"banana\nmango\n");
    }

    #[test]
    fn no_match_is_status_1_without_message() {
        let (result, out) = grep(&["kiwi"], b"banana\napple\n");
        let error = result.unwrap_err();
        assert_eq!(error.exit_status(), 1);
        assert_eq!(error.message(), None);
        assert!(out.is_empty());
    }

    #[test]
    fn missing_pattern_is_usage_error() {
        let (result, _) = grep(&[], b"x\n");
        assert_eq!(result.unwrap_err().exit_status(), 2);
    }

    #[test]
    fn extra_arguments_are_usage_error() {
        let (result, _) = grep(&["a", "file.txt"], b"a\n");
        assert_eq!(result.unwrap_err().exit_status(), 2);
    }

    #[test]
    fn last_line_without_newline_gets_one() {
        let (result, out) = grep(&["end"], b"start\nthe end");
        assert!(result.is_ok());
        assert_eq!(out, b"the end\n");
    }

    #[test]
    fn matches_across_non_utf8_bytes() {
        let (result, out) = grep(&["ok"], b"\xff\xfeok\xff\nnope\n");
        assert!(result.is_ok());
        assert_eq!(out, b"\xff\xfeok\xff\n");
    }

    #[test]
    fn pattern_is_a_fixed_string_not_a_regex() {
        let (result, out) = grep(&["a.c"], b"abc\na.c\n");
        assert!(result.is_ok());
        assert_eq!(out, b"a.c\n");
    }

    #[test]
    fn empty_pattern_matches_every_line() {
        let (result, out) = grep(&[""], b"a\n\nb");
        assert!(result.is_ok());
        assert_eq!(out, b"a\n\nb\n");
    }

    #[test]
    fn contains_finds_overlapping_prefixes() {
        assert!(contains(b"aaab", b"aab"));
        assert!(contains(b"xyz", b"xyz"));
        assert!(!contains(b"xy", b"xyz"));
        assert!(!contains(b"", b"a"));
    }
}
