//! The edge between two adjacent native stages of a pipeline: two OS pipes
//! and a relay that moves bytes from one to the other with `splice(2)`.
//!
//! Bridging a native stage to an in-process pipe costs two copies through
//! faasrt per byte (read out of one OS pipe, write into another) and a
//! wake-up on each side. Between two native stages nothing needs the bytes
//! in faasrt's memory: the kernel moves page references from the upstream
//! pipe to the downstream one, and faasrt only counts them (the stages'
//! `bytes_out` and `bytes_in`) and notices the ends. The relay keeps UNIX
//! pipe semantics: the upstream stage's exit is EOF downstream, and the
//! downstream stage's exit closes the upstream pipe (EPIPE or SIGPIPE
//! upstream, as in a shell).
//!
//! The relay also times its own waits ([`RelayStats`]): for data from the
//! upstream pipe and for room in the downstream one. They are what faasrt
//! can see of the stages' blocking on this edge; a stage's own wait in
//! `read(2)` or `write(2)` happens in the kernel, out of faasrt's sight.

use rustix::event::{PollFd, PollFlags};
use rustix::fs::OFlags;
use rustix::pipe::{PipeFlags, SpliceFlags};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Most bytes one `splice` call moves.
const BATCH: usize = 1 << 20;

/// Both ends of a new OS pipe (close-on-exec: a child gets an end only as
/// its stdin or stdout).
pub(crate) struct OsPipe {
    /// The end a reader holds.
    pub read: OwnedFd,
    /// The end a writer holds.
    pub write: OwnedFd,
}

impl OsPipe {
    /// `pipe2(O_CLOEXEC)`.
    ///
    /// # Errors
    /// The system call failed (out of descriptors, say).
    pub(crate) fn new() -> io::Result<Self> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
        Ok(OsPipe { read, write })
    }
}

/// The edge between stage `i` (writing into `upstream_write`) and stage
/// `i + 1` (reading `downstream_read`), with the relay between them.
pub(crate) struct SpliceEdge {
    /// Stage `i`'s stdout.
    pub upstream_write: OwnedFd,
    /// Stage `i + 1`'s stdin.
    pub downstream_read: OwnedFd,
    /// What moves bytes from one pipe to the other.
    pub relay: Relay,
}

impl SpliceEdge {
    /// Two pipes, and the relay between them.
    ///
    /// # Errors
    /// A pipe could not be made.
    pub(crate) fn new() -> io::Result<Self> {
        let upstream = OsPipe::new()?;
        let downstream = OsPipe::new()?;
        Ok(SpliceEdge {
            upstream_write: upstream.write,
            downstream_read: downstream.read,
            relay: Relay {
                from: upstream.read,
                to: downstream.write,
                stats: Arc::default(),
            },
        })
    }
}

/// The relay's ends of an edge.
pub(crate) struct Relay {
    from: OwnedFd,
    to: OwnedFd,
    /// What it moved and how long it waited.
    pub stats: Arc<RelayStats>,
}

/// What a relay did, read once it has ended.
#[derive(Debug, Default)]
pub(crate) struct RelayStats {
    /// Bytes moved so far: the upstream stage's `bytes_out` and the
    /// downstream stage's `bytes_in`.
    moved: AtomicU64,
    /// Nanoseconds it waited for the upstream pipe to have data (or its
    /// end): the downstream stage's input ran dry meanwhile, once the
    /// downstream pipe's buffer was read.
    waited_for_data_ns: AtomicU64,
    /// Nanoseconds it waited for room in the downstream pipe: the
    /// upstream stage's output backed up meanwhile, once the upstream
    /// pipe's buffer was full.
    waited_for_room_ns: AtomicU64,
}

impl RelayStats {
    /// Bytes moved.
    pub(crate) fn moved(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// How long it waited for data from upstream.
    pub(crate) fn waited_for_data(&self) -> Duration {
        Duration::from_nanos(self.waited_for_data_ns.load(Ordering::Relaxed))
    }

    /// How long it waited for room downstream.
    pub(crate) fn waited_for_room(&self) -> Duration {
        Duration::from_nanos(self.waited_for_room_ns.load(Ordering::Relaxed))
    }
}

/// Adds the time since `since` to `total`.
fn add_since(total: &AtomicU64, since: Instant) {
    let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    total.fetch_add(nanos, Ordering::Relaxed);
}

impl Relay {
    /// Moves everything from the upstream pipe to the downstream one until
    /// the upstream reaches EOF (its writer exited) or the downstream has
    /// no reader left; then closes both ends, which passes the end on in
    /// each direction.
    pub(crate) async fn run(self) {
        if let Err(error) = relay_until_an_end(self.from, self.to, &self.stats).await {
            // EPIPE is the downstream stage exiting first: expected.
            if error.raw_os_error() != Some(libc::EPIPE) {
                tracing::debug!(%error, "pipe relay between native stages ended");
            }
        }
    }
}

async fn relay_until_an_end(from: OwnedFd, to: OwnedFd, stats: &RelayStats) -> io::Result<()> {
    set_nonblocking(from.as_fd())?;
    set_nonblocking(to.as_fd())?;
    // SAFETY: an `OwnedFd` is a valid open descriptor that stays open, and
    // always the same one, until the `AsyncFd` that owns it is dropped.
    let from = unsafe { AsyncFd::register_with_interest(from, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)?;
    // SAFETY: as above.
    let to = unsafe { AsyncFd::register_with_interest(to, Interest::WRITABLE) }
        .map_err(|e| e.into_parts().1)?;
    loop {
        // Between two pipes: no offsets (pipes have none).
        match rustix::pipe::splice(
            from.get_ref(),
            None,
            to.get_ref(),
            None,
            BATCH,
            SpliceFlags::MOVE | SpliceFlags::NONBLOCK,
        ) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                stats.moved.fetch_add(n as u64, Ordering::Relaxed);
                continue;
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => {}
            Err(error) => return Err(error.into()),
        }
        // Either nothing to read or no room to write: wait for the one
        // that is missing (tokio's cached readiness may be stale, so it is
        // checked again and cleared when it lied).
        let (readable, writable) = ready_now(from.get_ref().as_fd(), to.get_ref().as_fd());
        // Only these waits read the clock: a relay that never waits
        // never does.
        if !readable {
            let since = Instant::now();
            let mut guard = from.readable().await?;
            if !ready_now(from.get_ref().as_fd(), to.get_ref().as_fd()).0 {
                guard.clear_ready();
            }
            add_since(&stats.waited_for_data_ns, since);
        } else if !writable {
            let since = Instant::now();
            let mut guard = to.writable().await?;
            if !ready_now(from.get_ref().as_fd(), to.get_ref().as_fd()).1 {
                guard.clear_ready();
            }
            add_since(&stats.waited_for_room_ns, since);
        } else {
            tokio::task::yield_now().await;
        }
    }
}

/// Whether `from` has data (or its end) and `to` has room (or no reader),
/// right now.
fn ready_now(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> (bool, bool) {
    let mut fds = [
        PollFd::new(&from, PollFlags::IN),
        PollFd::new(&to, PollFlags::OUT),
    ];
    // Without waiting; a failed poll reports neither side ready, and the
    // caller then waits on tokio's readiness.
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if rustix::event::poll(&mut fds, Some(&zero)).is_err() {
        return (false, false);
    }
    (
        fds[0]
            .revents()
            .intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR),
        fds[1].revents().intersects(PollFlags::OUT | PollFlags::ERR),
    )
}

/// Makes `fd` non-blocking, keeping its other status flags.
fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    // Multi-threaded: the test thread blocks on joins while the relay runs.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_relay_moves_every_byte_and_passes_eof_on() {
        let edge = SpliceEdge::new().expect("pipes");
        let stats = edge.relay.stats.clone();
        let relay = tokio::spawn(edge.relay.run());
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let upstream = edge.upstream_write;
        let writer = std::thread::spawn(move || {
            let mut file = std::fs::File::from(upstream);
            file.write_all(&sent).expect("write");
        });
        let downstream = edge.downstream_read;
        let reader = std::thread::spawn(move || {
            let mut file = std::fs::File::from(downstream);
            let mut got = Vec::new();
            file.read_to_end(&mut got).expect("read to EOF");
            got
        });
        writer.join().expect("writer");
        let got = reader.join().expect("reader");
        relay.await.expect("relay");
        assert!(
            got == data,
            "{} bytes came out of {}",
            got.len(),
            data.len()
        );
        assert_eq!(stats.moved(), data.len() as u64);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_reader_that_goes_breaks_the_writers_pipe() {
        let edge = SpliceEdge::new().expect("pipes");
        let relay = tokio::spawn(edge.relay.run());
        drop(edge.downstream_read);
        // The writer writes until the relay notices and closes the upstream
        // pipe: then it gets EPIPE, as a shell's would.
        let upstream = edge.upstream_write;
        let writer = std::thread::spawn(move || {
            let mut file = std::fs::File::from(upstream);
            loop {
                if let Err(error) = file.write_all(&[0u8; 65536]) {
                    return error.raw_os_error();
                }
            }
        });
        assert_eq!(writer.join().expect("writer"), Some(libc::EPIPE));
        relay.await.expect("relay");
    }

    #[tokio::test]
    async fn the_relay_times_its_waits_for_data_and_for_room() {
        let pause = Duration::from_millis(100);
        let edge = SpliceEdge::new().expect("pipes");
        let stats = edge.relay.stats.clone();
        let upstream = edge.upstream_write;
        // Nothing for a while (the relay waits for data), then more than
        // both pipes hold, read only after two more pauses (it waits for
        // room).
        let writer = std::thread::spawn(move || {
            std::thread::sleep(pause);
            let mut file = std::fs::File::from(upstream);
            file.write_all(&vec![7u8; 1 << 20]).expect("write");
        });
        let downstream = edge.downstream_read;
        let reader = std::thread::spawn(move || {
            std::thread::sleep(pause * 3);
            let mut file = std::fs::File::from(downstream);
            let mut got = Vec::new();
            file.read_to_end(&mut got).expect("read to EOF");
            got.len()
        });
        // Polled here at once, so its first wait starts before the writer
        // wakes (on a loaded machine a spawned task might start later).
        let threads = tokio::task::spawn_blocking(move || {
            writer.join().expect("writer");
            reader.join().expect("reader")
        });
        let ((), read) = tokio::join!(edge.relay.run(), threads);
        assert_eq!(read.expect("joins"), 1 << 20);
        // Half of each pause: room for a machine busy with other tests.
        assert!(stats.waited_for_data() >= pause / 2, "{stats:?}");
        assert!(stats.waited_for_room() >= pause, "{stats:?}");
    }
}
