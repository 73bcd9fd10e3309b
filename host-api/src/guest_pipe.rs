//! A pipe end as a guest's fd 0 or fd 1: the WASI streams over a
//! [`PipeReader`] or [`PipeWriter`]. WASI waits in `ready` whenever a
//! guest's read or write blocks, which is where the pipe times the wait.

use crate::pipe::{BrokenPipe, PipeReader, PipeWriter, ReadOutcome};
use bytes::Bytes;
use std::future::poll_fn;
use std::sync::Arc;
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError};

/// Gives a pipe end to WASI as fd 0 or fd 1. WASI asks for a fresh stream
/// object per use of the descriptor, so the end is shared, and dropped when
/// the guest's context is.
#[derive(Clone)]
pub struct GuestPipe<End>(Arc<End>);

impl<End> GuestPipe<End> {
    /// Wraps a pipe end for a guest.
    pub fn new(end: End) -> Self {
        GuestPipe(Arc::new(end))
    }
}

/// The guest's view of a [`PipeReader`].
struct ReaderStream(Arc<PipeReader>);

#[wasmtime_wasi::async_trait]
impl InputStream for ReaderStream {
    fn read(&mut self, size: usize) -> Result<Bytes, StreamError> {
        // Never waits: WASI waits in `ready` (below) when it blocks, and
        // that wait is the one timed.
        match self.0.try_read(size.max(1)) {
            Some(ReadOutcome::Data(bytes)) => Ok(bytes),
            Some(ReadOutcome::Eof) => Err(StreamError::Closed),
            None => Ok(Bytes::new()),
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for ReaderStream {
    async fn ready(&mut self) {
        poll_fn(|cx| self.0.poll_readable(cx)).await
    }
}

impl IsTerminal for GuestPipe<PipeReader> {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for GuestPipe<PipeReader> {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(ReaderStream(self.0.clone()))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncRead + Send + Sync> {
        unreachable!("faasrt links WASI preview 1 only, which uses p2_stream")
    }
}

/// The guest's view of a [`PipeWriter`].
struct WriterStream(Arc<PipeWriter>);

fn broken_pipe() -> StreamError {
    // WASI preview 1 turns an io::Error into an errno through its raw OS
    // error code: EPIPE becomes the guest's EPIPE (an error made from just
    // `ErrorKind::BrokenPipe` would reach the guest as EIO).
    StreamError::LastOperationFailed(wasmtime::Error::new(std::io::Error::from_raw_os_error(
        libc::EPIPE,
    )))
}

#[wasmtime_wasi::async_trait]
impl OutputStream for WriterStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.0.push(bytes).map_err(|BrokenPipe| broken_pipe())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        self.0.room().map_err(|BrokenPipe| broken_pipe())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for WriterStream {
    async fn ready(&mut self) {
        // Ready when there is room or the reader is gone (the next
        // `check_write` then reports the broken pipe).
        let _ = poll_fn(|cx| self.0.poll_room(cx)).await;
    }
}

impl IsTerminal for GuestPipe<PipeWriter> {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestPipe<PipeWriter> {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(WriterStream(self.0.clone()))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        unreachable!("faasrt links WASI preview 1 only, which uses p2_stream")
    }
}
