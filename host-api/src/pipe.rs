//! In-process pipes: a bounded byte stream from one stage's `faasout` to the
//! next stage's `faasin`, with the semantics of a UNIX pipe.
//!
//! - A read waits until there are bytes or the writer is gone (EOF), and may
//!   return fewer bytes than asked for.
//! - A write waits while the pipe holds `capacity` bytes (backpressure:
//!   memory stays bounded whatever flows through).
//! - Dropping the [`PipeWriter`] (the producer exited, or trapped) is EOF for
//!   the reader once the buffered bytes are read.
//! - Dropping the [`PipeReader`] (the consumer exited) makes every later
//!   write fail with a broken pipe (`EPIPE` for a WASI guest), so a producer
//!   such as `yes` stops promptly.
//!
//! Bytes are kept as the `Bytes` chunks the writer handed over, not copied
//! into a ring: WASI's `fd_write` already gives each write its own buffer, so
//! the pipe adds no copy of its own; the reader splits chunks without copying
//! either. A byte from one guest to the next is copied twice in all: out of
//! the producer's linear memory by `fd_write`, into the consumer's by
//! `fd_read`.
//!
//! Waiting is async (wakers, no OS thread blocks), so a blocked guest costs a
//! suspended fiber, not a thread. A guest sees its end through WASI
//! (`guest_pipe.rs`). How long each end waited (a reader on an
//! empty pipe, a writer on a full one) is timed only when it does wait
//! (`wait_clock.rs`), and read through [`PipeCounter`].

use crate::wait_clock::WaitClock;
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The capacity of a pipe unless configured otherwise: 64 KiB, as Linux.
pub const DEFAULT_PIPE_CAPACITY: usize = 64 << 10;

/// Creates a pipe holding at most `capacity` bytes (at least 1).
pub fn pipe(capacity: usize) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            chunks: VecDeque::new(),
            buffered: 0,
            capacity: capacity.max(1),
            writer_open: true,
            reader_open: true,
            read_waker: None,
            write_waker: None,
            bytes_written: 0,
            bytes_read: 0,
            read_wait: WaitClock::default(),
            write_wait: WaitClock::default(),
        }),
    });
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReader { shared },
    )
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before it can
        // panic, so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct State {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    capacity: usize,
    writer_open: bool,
    reader_open: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    bytes_written: u64,
    bytes_read: u64,
    /// The reader's waits on an empty pipe.
    read_wait: WaitClock,
    /// The writer's waits on a full pipe.
    write_wait: WaitClock,
}

impl State {
    /// Takes up to `max` bytes (see [`PipeReader::poll_read`]), or EOF,
    /// or `None` when a read would have to wait.
    fn take(&mut self, max: usize) -> Option<ReadOutcome> {
        if let Some(front) = self.chunks.front_mut() {
            let taken = if front.len() >= max {
                front.split_to(max)
            } else if self.chunks.len() == 1 || self.chunks[1].is_empty() {
                self.chunks.pop_front().expect("front exists")
            } else {
                let want = max.min(self.buffered);
                let mut gathered = bytes::BytesMut::with_capacity(want);
                while gathered.len() < want {
                    let Some(front) = self.chunks.front_mut() else {
                        break;
                    };
                    let room = want - gathered.len();
                    if front.len() <= room {
                        gathered.extend_from_slice(front);
                        self.chunks.pop_front();
                    } else {
                        gathered.extend_from_slice(&front.split_to(room));
                    }
                }
                gathered.freeze()
            };
            if self.chunks.front().is_some_and(Bytes::is_empty) {
                self.chunks.pop_front();
            }
            self.buffered -= taken.len();
            self.bytes_read += taken.len() as u64;
            self.wake_writer();
            return Some(ReadOutcome::Data(taken));
        }
        (!self.writer_open).then_some(ReadOutcome::Eof)
    }

    fn wake_reader(&mut self) {
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
    }

    fn wake_writer(&mut self) {
        if let Some(waker) = self.write_waker.take() {
            waker.wake();
        }
    }
}

/// Why a write to a pipe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("broken pipe: the reading stage has exited")]
pub struct BrokenPipe;

/// The writing end of a pipe. Dropping it is EOF for the reader.
pub struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// Room for how many bytes right now; `Err(BrokenPipe)` once the reader
    /// is gone.
    pub fn room(&self) -> Result<usize, BrokenPipe> {
        let state = self.shared.lock();
        if !state.reader_open {
            return Err(BrokenPipe);
        }
        Ok(state.capacity - state.buffered.min(state.capacity))
    }

    /// Waits until there is room (or the reader is gone).
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<usize, BrokenPipe>> {
        let mut state = self.shared.lock();
        if !state.reader_open {
            state.write_wait.end();
            return Poll::Ready(Err(BrokenPipe));
        }
        if state.buffered < state.capacity {
            state.write_wait.end();
            return Poll::Ready(Ok(state.capacity - state.buffered));
        }
        state.write_wait.begin();
        state.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Appends `bytes` without waiting (callers check [`PipeWriter::room`]
    /// first; a write may overshoot the capacity by at most itself, as the
    /// WASI adapter writes what it was permitted).
    pub fn push(&self, bytes: Bytes) -> Result<(), BrokenPipe> {
        let mut state = self.shared.lock();
        if !state.reader_open {
            return Err(BrokenPipe);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        state.buffered += bytes.len();
        state.bytes_written += bytes.len() as u64;
        state.chunks.push_back(bytes);
        state.wake_reader();
        Ok(())
    }

    /// Writes all of `bytes`, waiting for room as needed.
    ///
    /// # Errors
    /// [`BrokenPipe`] once the reader is gone; what was written before stays
    /// written.
    pub async fn write_all(&self, mut bytes: Bytes) -> Result<(), BrokenPipe> {
        while !bytes.is_empty() {
            let room = poll_fn(|cx| self.poll_room(cx)).await?;
            let chunk = bytes.split_to(room.min(bytes.len()));
            self.push(chunk)?;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.shared.lock().bytes_written
    }

    /// A handle that reads the byte count after this end is dropped.
    pub fn counter(&self) -> PipeCounter {
        PipeCounter {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.writer_open = false;
        state.wake_reader();
    }
}

/// Reads how many bytes went through a pipe, from either side, at any time.
#[derive(Clone)]
pub struct PipeCounter {
    shared: Arc<Shared>,
}

impl PipeCounter {
    /// Bytes written into the pipe.
    pub fn written(&self) -> u64 {
        self.shared.lock().bytes_written
    }

    /// Bytes read out of the pipe.
    pub fn read(&self) -> u64 {
        self.shared.lock().bytes_read
    }

    /// How long the reader waited on an empty pipe (for data or EOF), in
    /// all; a wait in progress counts up to now.
    pub fn read_blocked(&self) -> std::time::Duration {
        self.shared.lock().read_wait.total()
    }

    /// How long the writer waited on a full pipe (for room or the reader's
    /// end), in all; a wait in progress counts up to now.
    pub fn write_blocked(&self) -> std::time::Duration {
        self.shared.lock().write_wait.total()
    }
}

/// The reading end of a pipe. Dropping it breaks the pipe for the writer.
pub struct PipeReader {
    shared: Arc<Shared>,
}

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Up to the asked number of bytes (never empty).
    Data(Bytes),
    /// The writer is gone and every byte was read.
    Eof,
}

impl PipeReader {
    /// Takes up to `max` bytes, waiting until there are some or EOF.
    ///
    /// When the first chunk is shorter than `max` and more are buffered,
    /// they are gathered into one buffer: WASI's `fd_write` hands the pipe
    /// 4 KiB pieces, and returning them one by one would cost the reader a
    /// host call per piece where one copy serves them all.
    pub fn poll_read(&self, cx: &mut Context<'_>, max: usize) -> Poll<ReadOutcome> {
        let mut state = self.shared.lock();
        if let Some(outcome) = state.take(max) {
            state.read_wait.end();
            return Poll::Ready(outcome);
        }
        state.read_wait.begin();
        state.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Takes up to `max` bytes, or EOF, if either is there now; never
    /// waits (a guest's non-blocking read).
    pub(crate) fn try_read(&self, max: usize) -> Option<ReadOutcome> {
        self.shared.lock().take(max)
    }

    /// Reads up to `max` bytes (at least 1), or EOF.
    pub async fn read(&self, max: usize) -> ReadOutcome {
        poll_fn(|cx| self.poll_read(cx, max.max(1))).await
    }

    /// Whether a read would return at once (bytes buffered, or EOF).
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        if !state.chunks.is_empty() || !state.writer_open {
            state.read_wait.end();
            return Poll::Ready(());
        }
        state.read_wait.begin();
        state.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// A handle that reads the byte count after this end is dropped.
    pub fn counter(&self) -> PipeCounter {
        PipeCounter {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.reader_open = false;
        // Nobody will read these: free them now, and let a waiting writer
        // see the broken pipe.
        state.chunks.clear();
        state.buffered = 0;
        state.wake_writer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(outcome: ReadOutcome) -> Bytes {
        match outcome {
            ReadOutcome::Data(bytes) => bytes,
            ReadOutcome::Eof => panic!("unexpected EOF"),
        }
    }

    #[tokio::test]
    async fn bytes_come_out_in_order_and_reads_may_be_short() {
        let (writer, reader) = pipe(1024);
        writer
            .write_all(Bytes::from_static(b"hello "))
            .await
            .unwrap();
        writer
            .write_all(Bytes::from_static(b"world"))
            .await
            .unwrap();
        assert_eq!(&data(reader.read(3).await)[..], b"hel");
        assert_eq!(&data(reader.read(100).await)[..], b"lo world");
        drop(writer);
        assert_eq!(reader.read(100).await, ReadOutcome::Eof);
    }

    #[tokio::test]
    async fn a_read_gathers_small_chunks_up_to_its_size() {
        let (writer, reader) = pipe(1024);
        for piece in [&b"ab"[..], b"cd", b"ef"] {
            writer.push(Bytes::copy_from_slice(piece)).unwrap();
        }
        assert_eq!(&data(reader.read(5).await)[..], b"abcde");
        assert_eq!(&data(reader.read(5).await)[..], b"f");
        assert_eq!(writer.room(), Ok(1024));
    }

    #[tokio::test]
    async fn dropping_the_writer_is_eof_after_the_buffered_bytes() {
        let (writer, reader) = pipe(1024);
        writer.write_all(Bytes::from_static(b"last")).await.unwrap();
        drop(writer);
        assert_eq!(&data(reader.read(100).await)[..], b"last");
        assert_eq!(reader.read(100).await, ReadOutcome::Eof);
        assert_eq!(reader.read(100).await, ReadOutcome::Eof);
    }

    #[tokio::test]
    async fn a_full_pipe_holds_the_writer_until_the_reader_reads() {
        let (writer, reader) = pipe(8);
        let writer = Arc::new(writer);
        let producer = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.write_all(Bytes::from(vec![7u8; 20])).await })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!producer.is_finished(), "the writer went past a full pipe");
        assert!(
            writer.bytes_written() <= 8,
            "the pipe holds at most its capacity"
        );
        let mut received = 0;
        while received < 20 {
            received += data(reader.read(5).await).len();
        }
        producer.await.unwrap().unwrap();
        assert_eq!(received, 20);
    }

    #[tokio::test]
    async fn writing_after_the_reader_is_gone_is_a_broken_pipe() {
        let (writer, reader) = pipe(8);
        writer.write_all(Bytes::from_static(b"fits")).await.unwrap();
        drop(reader);
        assert_eq!(
            writer.write_all(Bytes::from_static(b"more")).await,
            Err(BrokenPipe)
        );
        assert_eq!(writer.room(), Err(BrokenPipe));
    }

    #[tokio::test]
    async fn a_writer_blocked_on_a_full_pipe_wakes_when_the_reader_goes() {
        let (writer, reader) = pipe(4);
        let producer =
            tokio::spawn(async move { writer.write_all(Bytes::from(vec![1u8; 100])).await });
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        drop(reader);
        assert_eq!(producer.await.unwrap(), Err(BrokenPipe));
    }

    #[tokio::test]
    async fn a_reader_waits_for_data_then_gets_it() {
        let (writer, reader) = pipe(16);
        let consumer = tokio::spawn(async move { reader.read(16).await });
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        assert!(!consumer.is_finished());
        writer.push(Bytes::from_static(b"x")).unwrap();
        assert_eq!(
            consumer.await.unwrap(),
            ReadOutcome::Data(Bytes::from_static(b"x"))
        );
    }

    #[tokio::test]
    async fn counters_see_what_went_through() {
        let (writer, reader) = pipe(16);
        let counter = writer.counter();
        writer
            .write_all(Bytes::from_static(b"12345"))
            .await
            .unwrap();
        drop(writer);
        data(reader.read(2).await);
        assert_eq!((counter.written(), counter.read()), (5, 2));
    }

    #[tokio::test]
    async fn a_reader_on_an_empty_pipe_counts_its_wait_and_a_writer_with_room_none() {
        let (writer, reader) = pipe(16);
        let counter = reader.counter();
        let consumer = tokio::spawn(async move { reader.read(16).await });
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        writer.write_all(Bytes::from_static(b"x")).await.unwrap();
        consumer.await.unwrap();
        let waited = counter.read_blocked();
        assert!(waited >= std::time::Duration::from_millis(30), "{waited:?}");
        assert_eq!(counter.write_blocked(), std::time::Duration::ZERO);
    }

    #[tokio::test]
    async fn a_writer_held_by_a_full_pipe_counts_its_wait() {
        let (writer, reader) = pipe(4);
        let counter = writer.counter();
        let producer =
            tokio::spawn(async move { writer.write_all(Bytes::from(vec![1u8; 8])).await });
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let mut received = 0;
        while received < 8 {
            received += data(reader.read(8).await).len();
        }
        producer.await.unwrap().unwrap();
        let waited = counter.write_blocked();
        assert!(waited >= std::time::Duration::from_millis(30), "{waited:?}");
    }
}
