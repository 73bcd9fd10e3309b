//! The invocation's three streams: `faasin` (fd 0), `faasout` (fd 1) and the log (fd 2).
//!
//! `faasout` gets one process-wide 64 KiB buffer rather than std's `Stdout`,
//! which is line-buffered and would make one host call per line. Because the
//! buffer is global, [`exit`](crate::exit) and [`run`](crate::run) can flush it
//! even though `std::process::exit` runs no destructors.

use std::io::{self, BufRead, BufWriter, IoSliceMut, Read, StdinLock, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Size of the `faasout` buffer. WASI hosts split writes into smaller pieces
/// anyway; what matters is not making a host call per line.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// A buffered reader over `faasin`, the invocation's input (fd 0).
///
/// Read it until EOF. It holds the lock on the process's standard input until
/// dropped, so create one at a time: a second [`input()`] on the same thread
/// while the first is alive blocks forever.
#[derive(Debug)]
pub struct Input {
    inner: StdinLock<'static>,
}

/// Returns a buffered reader over `faasin` (fd 0). See [`Input`].
pub fn input() -> Input {
    Input {
        inner: io::stdin().lock(),
    }
}

/// Reads all of `faasin` into memory.
///
/// Prefer streaming through [`input()`] when the function does not need the
/// whole input at once.
///
/// # Errors
///
/// Returns the error of the failed read.
pub fn read_input() -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input().read_to_end(&mut bytes)?;
    Ok(bytes)
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.inner.read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        self.inner.read_to_string(buf)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }

    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.inner.read_until(byte, buf)
    }

    fn read_line(&mut self, buf: &mut String) -> io::Result<usize> {
        self.inner.read_line(buf)
    }
}

/// A buffered writer over `faasout`, the invocation's output (fd 1).
///
/// All `Output`s share one process-wide buffer, which is flushed when an
/// `Output` is dropped, by [`exit`](crate::exit) and at the end of
/// [`run`](crate::run); a failed final flush (for example a broken pipe)
/// becomes the function's status there. Do not mix it with `print!`, which
/// writes through std's own, separate buffer.
#[derive(Debug)]
pub struct Output {
    _private: (),
}

/// Returns a buffered writer over `faasout` (fd 1). See [`Output`].
pub fn output() -> Output {
    Output { _private: () }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock_output().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        lock_output().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        lock_output().flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // An error stays visible: the unwritten bytes stay buffered, so the
        // flush in `run`/`exit` fails the same way and reports it.
        let _ = flush_output();
    }
}

/// The process-wide `faasout` buffer; `None` until first used.
static OUTPUT: Mutex<Option<BufWriter<RawStdout>>> = Mutex::new(None);

fn lock_output() -> OutputGuard {
    // A panic while holding the lock leaves a consistent BufWriter behind.
    let mut guard = OUTPUT.lock().unwrap_or_else(PoisonError::into_inner);
    if guard.is_none() {
        // Bytes the function wrote with `print!` before go out first.
        let _ = io::stdout().flush();
        *guard = Some(BufWriter::with_capacity(OUTPUT_BUFFER, RawStdout::new()));
    }
    OutputGuard(guard)
}

struct OutputGuard(MutexGuard<'static, Option<BufWriter<RawStdout>>>);

impl std::ops::Deref for OutputGuard {
    type Target = BufWriter<RawStdout>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("lock_output initializes the writer")
    }
}

impl std::ops::DerefMut for OutputGuard {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("lock_output initializes the writer")
    }
}

/// Flushes the `faasout` buffer, if anything was ever written to it.
pub(crate) fn flush_output() -> io::Result<()> {
    let mut guard = OUTPUT.lock().unwrap_or_else(PoisonError::into_inner);
    match guard.as_mut() {
        Some(writer) => writer.flush(),
        None => Ok(()),
    }
}

/// Fd 1 without std's line buffering in between.
#[cfg(any(unix, target_os = "wasi"))]
struct RawStdout(std::mem::ManuallyDrop<std::fs::File>);

#[cfg(any(unix, target_os = "wasi"))]
impl RawStdout {
    fn new() -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: fd 1 is `faasout`, open for the whole life of the process by
        // the guest ABI (and by the native runtime). `ManuallyDrop` means this
        // handle never closes it, so std's `Stdout` and anyone else using fd 1
        // keep a valid descriptor; we only ever write through it.
        let file = unsafe { std::fs::File::from_raw_fd(1) };
        Self(std::mem::ManuallyDrop::new(file))
    }
}

#[cfg(any(unix, target_os = "wasi"))]
impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Elsewhere, std's `Stdout` stands in for the raw descriptor.
#[cfg(not(any(unix, target_os = "wasi")))]
struct RawStdout(io::Stdout);

#[cfg(not(any(unix, target_os = "wasi")))]
impl RawStdout {
    fn new() -> Self {
        Self(io::stdout())
    }
}

#[cfg(not(any(unix, target_os = "wasi")))]
impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Writes `message` as one line to the function's log (fd 2).
///
/// A newline is added unless `message` already ends with one. The line goes
/// out in a single write, so concurrent log lines do not interleave; errors
/// writing the log are ignored, as there is nowhere left to report them.
pub fn log(message: &str) {
    let mut line = Vec::with_capacity(message.len() + 1);
    line.extend_from_slice(message.as_bytes());
    if !message.ends_with('\n') {
        line.push(b'\n');
    }
    let _ = io::stderr().lock().write_all(&line);
}

/// Writes a formatted line to the function's log (fd 2), like `eprintln!`
/// but never panicking. See [`log()`](fn@crate::log).
///
/// ```
/// faasrt_guest::log!("read {} records", 42);
/// ```
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log(&::std::format!($($arg)*))
    };
}
