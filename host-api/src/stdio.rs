//! The byte sinks behind fd 1 (`faasout`) and fd 2 (the log).
//!
//! `faasout` is captured whole, up to a cap: output past the cap ends the
//! invocation with [`OutputTooLarge`] instead of growing host memory without
//! bound. The log keeps only its tail: a chatty function never fails because
//! of its log, and the tail is what an operator reads after a failure.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError};

/// Returned (as a trap) when a function reads `faasin` where there is none,
/// as during pre-initialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("reading faasin is not allowed here")]
pub struct InputUnavailable;

/// What fd 0 reads from.
pub enum Faasin {
    /// The invocation's input bytes; EOF after them.
    Bytes(Bytes),
    /// No input exists (pre-initialization): a read traps with
    /// [`InputUnavailable`] instead of returning a misleading EOF.
    Unavailable,
    /// The reading end of a pipe (a pipeline stage).
    Pipe(crate::pipe::PipeReader),
}

/// Where fd 1 writes to.
pub enum Faasout {
    /// Captured whole, up to its limit (a single invocation).
    Capture(OutputCapture),
    /// The writing end of a pipe (a pipeline stage).
    Pipe(crate::pipe::PipeWriter),
}

/// The guest-facing stream of [`Faasin::Unavailable`].
#[derive(Clone)]
pub(crate) struct UnavailableInput;

#[wasmtime_wasi::async_trait]
impl InputStream for UnavailableInput {
    fn read(&mut self, _size: usize) -> Result<Bytes, StreamError> {
        Err(StreamError::Trap(wasmtime::Error::new(InputUnavailable)))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for UnavailableInput {
    async fn ready(&mut self) {}
}

impl IsTerminal for UnavailableInput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for UnavailableInput {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        unreachable!("faasrt links WASI preview 1 only, which uses p2_stream")
    }
}

/// Returned (as a trap) when a function writes more to `faasout` than its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("function output exceeded its limit of {limit} bytes")]
pub struct OutputTooLarge {
    /// The cap that was exceeded, in bytes.
    pub limit: usize,
}

/// Captures a function's `faasout` up to a byte limit.
///
/// Clones share one buffer: the host keeps one handle and gives another to
/// the guest's WASI context.
#[derive(Clone, Debug)]
pub struct OutputCapture {
    inner: Arc<Mutex<CaptureState>>,
    limit: usize,
}

#[derive(Debug, Default)]
struct CaptureState {
    buffer: BytesMut,
    overflowed: bool,
}

impl OutputCapture {
    /// A capture that accepts at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        OutputCapture {
            inner: Arc::default(),
            limit,
        }
    }

    fn state(&self) -> MutexGuard<'_, CaptureState> {
        // A panic while holding this lock cannot leave the buffer half
        // written, so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Whether the function tried to write past the limit.
    pub fn overflowed(&self) -> bool {
        self.state().overflowed
    }

    /// The bytes written so far.
    pub fn take(&self) -> Bytes {
        std::mem::take(&mut self.state().buffer).freeze()
    }

    fn append(&self, bytes: &[u8]) -> Result<(), OutputTooLarge> {
        let mut state = self.state();
        if bytes.len() > self.limit - state.buffer.len() {
            state.overflowed = true;
            return Err(OutputTooLarge { limit: self.limit });
        }
        state.buffer.extend_from_slice(bytes);
        Ok(())
    }
}

/// Keeps the last `capacity` bytes written to a function's log (fd 2 and the
/// `faasrt::log` import).
#[derive(Clone, Debug)]
pub struct LogTail {
    inner: Arc<Mutex<LogState>>,
    capacity: usize,
    limit: u64,
}

#[derive(Debug, Default)]
struct LogState {
    tail: VecDeque<u8>,
    written: u64,
}

impl LogTail {
    /// A log that remembers at most its last `capacity` bytes, with no limit
    /// on how much may be written to it.
    pub fn new(capacity: usize) -> Self {
        Self::with_limit(capacity, u64::MAX)
    }

    /// A log that remembers its last `capacity` bytes and refuses writes
    /// once `limit` bytes were written in all: a function that floods its
    /// log is stopped like one that floods its output.
    pub fn with_limit(capacity: usize, limit: u64) -> Self {
        LogTail {
            inner: Arc::default(),
            capacity,
            limit,
        }
    }

    /// Appends `bytes`, forgetting the oldest bytes beyond the capacity.
    ///
    /// # Errors
    /// [`OutputTooLarge`] once more than the limit was written; the tail
    /// still gets the bytes (they are often the explanation).
    pub fn append(&self, bytes: &[u8]) -> Result<(), OutputTooLarge> {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let keep = bytes.len().min(self.capacity);
        state.tail.extend(&bytes[bytes.len() - keep..]);
        let excess = state.tail.len().saturating_sub(self.capacity);
        state.tail.drain(..excess);
        state.written = state.written.saturating_add(bytes.len() as u64);
        if state.written > self.limit {
            return Err(OutputTooLarge {
                limit: usize::try_from(self.limit).unwrap_or(usize::MAX),
            });
        }
        Ok(())
    }

    /// The remembered tail, as lossy UTF-8 text.
    pub fn text(&self) -> String {
        let state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let tail = &state.tail;
        let (front, back) = tail.as_slices();
        let mut bytes = Vec::with_capacity(tail.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A byte sink behind fd 1 or fd 2 that may refuse bytes past its limit.
trait Sink: Clone + Send + Sync + 'static {
    fn append(&self, bytes: &[u8]) -> Result<(), OutputTooLarge>;
}

impl Sink for OutputCapture {
    fn append(&self, bytes: &[u8]) -> Result<(), OutputTooLarge> {
        OutputCapture::append(self, bytes)
    }
}

impl Sink for LogTail {
    fn append(&self, bytes: &[u8]) -> Result<(), OutputTooLarge> {
        LogTail::append(self, bytes)
    }
}

/// The guest-facing stream of a [`Sink`].
struct SinkStream<S>(S);

#[wasmtime_wasi::async_trait]
impl<S: Sink> OutputStream for SinkStream<S> {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.0
            .append(&bytes)
            .map_err(|too_large| StreamError::Trap(wasmtime::Error::new(too_large)))
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always writable; the limit is enforced in `write` so that the
        // overflow is reported as such rather than as a closed stream.
        Ok(usize::MAX)
    }
}

#[wasmtime_wasi::async_trait]
impl<S: Sink> Pollable for SinkStream<S> {
    async fn ready(&mut self) {}
}

macro_rules! guest_sink {
    ($($sink:ty),*) => {$(
        impl IsTerminal for $sink {
            fn is_terminal(&self) -> bool {
                false
            }
        }

        impl StdoutStream for $sink {
            fn p2_stream(&self) -> Box<dyn OutputStream> {
                Box::new(SinkStream(self.clone()))
            }

            fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
                unreachable!("faasrt links WASI preview 1 only, which uses p2_stream")
            }
        }
    )*};
}

guest_sink!(OutputCapture, LogTail);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_accepts_up_to_its_limit() {
        let capture = OutputCapture::new(4);
        assert_eq!(capture.append(b"ab"), Ok(()));
        assert_eq!(capture.append(b"cd"), Ok(()));
        assert!(!capture.overflowed());
        assert_eq!(&capture.take()[..], b"abcd");
    }

    #[test]
    fn capture_past_its_limit_is_output_too_large() {
        let capture = OutputCapture::new(4);
        assert_eq!(capture.append(b"abc"), Ok(()));
        assert_eq!(capture.append(b"de"), Err(OutputTooLarge { limit: 4 }));
        assert!(capture.overflowed());
        assert_eq!(&capture.take()[..], b"abc");
    }

    #[test]
    fn log_tail_keeps_the_newest_bytes() {
        let log = LogTail::new(5);
        log.append(b"hello ").unwrap();
        log.append(b"world").unwrap();
        assert_eq!(log.text(), "world");
        log.append(b"0123456789").unwrap();
        assert_eq!(log.text(), "56789");
    }

    #[test]
    fn a_log_past_its_limit_is_refused_but_keeps_its_tail() {
        let log = LogTail::with_limit(8, 10);
        assert_eq!(log.append(b"0123456789"), Ok(()));
        assert_eq!(log.append(b"x"), Err(OutputTooLarge { limit: 10 }));
        assert_eq!(log.text(), "3456789x");
    }
}
