//! `counter`: counts, across invocations, how often each name was seen,
//! with the counts in the function's key-value state.
//!
//! Each line of the input is a name; the function adds one to the name's
//! count (under the key `count/NAME`) and writes `NAME COUNT`. With the
//! argument `--fail` it does the same and then fails, which shows that a
//! failed invocation's writes are dropped: the next one counts from where
//! the last successful one left off.

use std::io::{BufRead, Write};

/// Where the counts live: the function's key-value state in faasrt, a map
/// in the tests.
pub trait Counts {
    /// The stored count of `key`, if any.
    ///
    /// # Errors
    /// The store refused.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, faasrt_guest::Error>;
    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// The store refused (its quota, say).
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), faasrt_guest::Error>;
}

/// The function's own key-value state ([`faasrt_guest::kv`]).
pub struct FunctionState;

impl Counts for FunctionState {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, faasrt_guest::Error> {
        Ok(faasrt_guest::kv::get(key)?)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), faasrt_guest::Error> {
        Ok(faasrt_guest::kv::put(key, value)?)
    }
}

/// Counts each line of `input` in `counts` and writes `NAME COUNT` to
/// `output`; fails at the end when `args` has `--fail`.
///
/// # Errors
/// An unknown argument (status 2), a store that refused, I/O, or `--fail`.
pub fn run(
    args: &[String],
    input: impl BufRead,
    mut output: impl Write,
    counts: &mut impl Counts,
) -> Result<(), faasrt_guest::Error> {
    let fail = match args {
        [] => false,
        [flag] if flag == "--fail" => true,
        _ => return Err(faasrt_guest::Error::usage("usage: counter [--fail]")),
    };
    for line in input.split(b'\n') {
        let name = line?;
        let name = name.strip_suffix(b"\r").unwrap_or(&name);
        if name.is_empty() {
            continue;
        }
        let key = [b"count/", name].concat();
        let count = counts
            .get(&key)?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        counts.put(&key, count.to_string().as_bytes())?;
        output.write_all(name)?;
        writeln!(output, " {count}")?;
    }
    output.flush()?;
    if fail {
        return Err(faasrt_guest::Error::failed(
            "failing on purpose (--fail): these counts are not kept",
        ));
    }
    Ok(())
}

impl<T: Counts> Counts for &mut T {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, faasrt_guest::Error> {
        (**self).get(key)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), faasrt_guest::Error> {
        (**self).put(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct MapCounts(BTreeMap<Vec<u8>, Vec<u8>>);

    impl Counts for MapCounts {
        fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, faasrt_guest::Error> {
            Ok(self.0.get(key).cloned())
        }

        fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), faasrt_guest::Error> {
            self.0.insert(key.to_vec(), value.to_vec());
            Ok(())
        }
    }

    fn count(input: &str, counts: &mut MapCounts) -> String {
        let mut out = Vec::new();
        run(&[], input.as_bytes(), &mut out, counts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counts_carry_over_between_runs() {
        let mut counts = MapCounts::default();
        assert_eq!(
            count("ann\nbob\nann\n", &mut counts),
            "ann 1\nbob 1\nann 2\n"
        );
        assert_eq!(count("ann\r\n\n", &mut counts), "ann 3\n");
        assert_eq!(counts.0.get(&b"count/bob"[..]), Some(&b"1".to_vec()));
    }

    #[test]
    fn fail_writes_then_fails_and_a_bad_argument_is_a_usage_error() {
        let mut counts = MapCounts::default();
        let error = run(&["--fail".into()], &b"x\n"[..], Vec::new(), &mut counts).unwrap_err();
        assert_eq!(error.exit_status(), 1);
        let error = run(&["-x".into()], &b""[..], Vec::new(), &mut counts).unwrap_err();
        assert_eq!(error.exit_status(), 2);
    }
}
