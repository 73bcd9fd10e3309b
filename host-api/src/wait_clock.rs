//! How long one end of a pipe waited: a reader on an empty pipe, a writer
//! on a full one. The clock runs from the first poll that finds the end
//! not ready to the next that finds it ready, so an end that never waits
//! pays one comparison per poll and never reads the time.

use std::time::{Duration, Instant};

/// The waiting time of one pipe end, kept under the pipe's lock.
#[derive(Debug, Default)]
pub(crate) struct WaitClock {
    /// When the wait in progress began; `None` while not waiting.
    since: Option<Instant>,
    /// The waits that have ended.
    total: Duration,
}

impl WaitClock {
    /// The end found the pipe not ready and is going to wait: the clock
    /// starts, unless a wait is already being timed (a second poll of the
    /// same wait).
    pub(crate) fn begin(&mut self) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
        }
    }

    /// The end found the pipe ready: a wait in progress ends here.
    #[inline]
    pub(crate) fn end(&mut self) {
        if let Some(since) = self.since.take() {
            self.total += since.elapsed();
        }
    }

    /// Every wait so far, the one in progress (if any) up to now.
    pub(crate) fn total(&self) -> Duration {
        self.total + self.since.map_or(Duration::ZERO, |since| since.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_that_never_waits_counts_nothing() {
        let mut clock = WaitClock::default();
        clock.end();
        clock.end();
        assert_eq!(clock.total(), Duration::ZERO);
    }

    #[test]
    fn a_wait_counts_from_its_first_poll_to_the_ready_one() {
        let mut clock = WaitClock::default();
        clock.begin();
        std::thread::sleep(Duration::from_millis(10));
        // Polled again while still waiting: the clock keeps its start.
        clock.begin();
        std::thread::sleep(Duration::from_millis(10));
        clock.end();
        let first = clock.total();
        assert!(first >= Duration::from_millis(20), "{first:?}");
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(clock.total(), first, "no wait in progress");
    }

    #[test]
    fn a_wait_in_progress_counts_up_to_now() {
        let mut clock = WaitClock::default();
        clock.begin();
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.total() >= Duration::from_millis(5));
    }
}
