//! `synthetic`: a stand-in for any trace function. Its input's first line
//! says what to do, `work=N memory=BYTES output=BYTES` (each optional, 0 by
//! default); it then spins through `N` units of arithmetic, touches `BYTES`
//! of fresh memory (one write per 4 KiB page), and writes exactly `output`
//! bytes. The rest of the input is read and dropped, so a request of any
//! size can be sent.
//!
//! `faasrt-load` calibrates the units on the machine it runs on (how many
//! nanoseconds a unit and a touched byte cost) and turns each trace
//! invocation's duration and memory into `work` and `memory`.

use std::hint::black_box;
use std::io::{self, BufRead, Write};

/// How many xorshift steps one unit of work is: about a microsecond on a
/// current x86 core, compiled to wasm.
pub const STEPS_PER_UNIT: u32 = 256;

/// The memory is touched one write per page of this size.
pub const PAGE_BYTES: usize = 4096;

/// What one invocation is asked to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Units of work to spin through.
    pub work: u64,
    /// Bytes of memory to allocate and touch.
    pub memory: u64,
    /// Bytes to write.
    pub output: u64,
}

/// A request line that cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "synthetic: {}", self.0)
    }
}

impl std::error::Error for BadRequest {}

impl Request {
    /// Reads `work=N memory=BYTES output=BYTES` (any order, any subset,
    /// separated by spaces or tabs).
    ///
    /// # Errors
    /// A word that is not `KEY=NUMBER` with one of the three keys.
    pub fn parse(line: &str) -> Result<Request, BadRequest> {
        let mut request = Request::default();
        for word in line.split_ascii_whitespace() {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| BadRequest(format!("{word:?} is not KEY=NUMBER")))?;
            let value: u64 = value
                .parse()
                .map_err(|_| BadRequest(format!("{key}={value:?} is not a whole number")))?;
            match key {
                "work" => request.work = value,
                "memory" => request.memory = value,
                "output" => request.output = value,
                _ => {
                    return Err(BadRequest(format!(
                        "unknown key {key:?} (work, memory, output)"
                    )));
                }
            }
        }
        Ok(request)
    }
}

/// Runs one invocation: reads the request line from `input` (and drops the
/// rest), works, touches memory, writes.
///
/// # Errors
/// A bad request line ([`io::ErrorKind::InvalidInput`]), memory that cannot
/// be had, or the failed read or write.
pub fn run(mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    io::copy(&mut input.by_ref(), &mut io::sink())?;
    let request =
        Request::parse(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    black_box(spin(request.work));
    let memory = usize::try_from(request.memory).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            "memory beyond the address space",
        )
    })?;
    black_box(touch(memory)?);
    emit(request.output, &mut output)
}

/// `units` of arithmetic that the compiler cannot skip; returns its result.
pub fn spin(units: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ units;
    for _ in 0..units {
        for _ in 0..STEPS_PER_UNIT {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x = black_box(x);
    }
    x
}

/// Allocates `bytes` and writes one byte per page, so every page is
/// resident; returns the sum of the bytes written.
///
/// # Errors
/// [`io::ErrorKind::OutOfMemory`] when the allocation is refused (a
/// function's memory limit).
pub fn touch(bytes: usize) -> io::Result<u64> {
    let mut memory: Vec<u8> = Vec::new();
    memory.try_reserve_exact(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("synthetic: cannot allocate {bytes} bytes"),
        )
    })?;
    // Writing through the spare capacity touches each page once, without
    // zeroing the whole buffer first.
    let spare = memory.spare_capacity_mut();
    for (page, slot) in spare.iter_mut().step_by(PAGE_BYTES).enumerate() {
        slot.write(page as u8);
    }
    let mut sum = 0u64;
    for slot in spare.iter().step_by(PAGE_BYTES) {
        // SAFETY: every page's first byte was written just above.
        sum += u64::from(unsafe { slot.assume_init() });
    }
    Ok(black_box(sum))
}

/// Writes exactly `bytes` bytes (`x`s, a newline every 64).
///
/// # Errors
/// The failed write.
pub fn emit(bytes: u64, output: &mut impl Write) -> io::Result<()> {
    let mut block = [b'x'; 4096];
    for line_end in block.iter_mut().skip(63).step_by(64) {
        *line_end = b'\n';
    }
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        output.write_all(&block[..n])?;
        left -= n as u64;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key_in_any_order() {
        assert_eq!(
            Request::parse("output=3 work=10\tmemory=4096\n").unwrap(),
            Request {
                work: 10,
                memory: 4096,
                output: 3
            }
        );
        assert_eq!(Request::parse("").unwrap(), Request::default());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(Request::parse("work").unwrap_err().0.contains("KEY=NUMBER"));
        assert!(
            Request::parse("work=-1")
                .unwrap_err()
                .0
                .contains("whole number")
        );
        assert!(
            Request::parse("sleep=1")
                .unwrap_err()
                .0
                .contains("unknown key")
        );
    }

    #[test]
    fn writes_exactly_the_bytes_asked_and_drops_the_rest_of_the_input() {
        let mut input = b"work=3 memory=10000 output=10000\n".to_vec();
        input.extend(std::iter::repeat_n(b'p', 100_000));
        let mut out = Vec::new();
        run(&input[..], &mut out).unwrap();
        assert_eq!(out.len(), 10_000);
        assert_eq!(out[63], b'\n');
        assert!(out[..63].iter().all(|&b| b == b'x'));
    }

    #[test]
    fn touches_one_byte_per_page() {
        // Pages 0, 1, 2 of 3 (a partial last page counts).
        assert_eq!(touch(2 * PAGE_BYTES + 1).unwrap(), 1 + 2);
        assert_eq!(touch(0).unwrap(), 0);
    }

    #[test]
    fn more_work_gives_a_different_result() {
        assert_ne!(spin(1), spin(2));
    }

    #[test]
    fn a_bad_line_is_an_invalid_input_error() {
        let error = run(&b"work=x\n"[..], &mut Vec::new()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
