//! How long a future ran: the sum of its polls on the monotonic clock. A
//! guest runs on a fiber inside its future's polls and nowhere else, so
//! this is the time it held a thread (including any time the kernel took
//! that thread away), without the time it waited. With hardware counters
//! on, the polling thread's counters are read around each poll too
//! (`hw_counters.rs`), and their differences summed the same way.

use crate::hw_counters::{HwCounts, Reading, thread_reading};
use std::future::Future;
use std::time::{Duration, Instant};

/// Awaits `future` and returns its output with the time spent polling it,
/// and, when `count` is set, what the hardware counters counted during its
/// polls (`None` when off, or when a poll's thread could not count).
pub(crate) async fn timed_polls<F: Future>(
    future: F,
    count: bool,
) -> (F::Output, Duration, Option<HwCounts>) {
    let mut future = std::pin::pin!(future);
    let mut busy = Duration::ZERO;
    let mut counted = count.then(Reading::default);
    let output = std::future::poll_fn(|cx| {
        let before = counted.and_then(|_| thread_reading());
        let began = Instant::now();
        let poll = future.as_mut().poll(cx);
        busy += began.elapsed();
        if let Some(total) = &mut counted {
            match (before, thread_reading()) {
                (Some(before), Some(after)) => total.add(after.since(before)),
                // One poll uncounted: the sum would be short.
                _ => counted = None,
            }
        }
        poll
    })
    .await;
    (output, busy, counted.and_then(Reading::counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_not_counted_and_working_is() {
        let ((), waited, _) =
            timed_polls(tokio::time::sleep(Duration::from_millis(30)), false).await;
        assert!(waited < Duration::from_millis(10), "{waited:?}");
        let ((), worked, _) = timed_polls(
            async { std::thread::sleep(Duration::from_millis(20)) },
            false,
        )
        .await;
        assert!(worked >= Duration::from_millis(20), "{worked:?}");
    }

    #[tokio::test]
    async fn hardware_counts_come_only_when_asked_for_and_allowed() {
        let work = || async { std::hint::black_box((0..100_000u64).sum::<u64>()) };
        let (_, _, off) = timed_polls(work(), false).await;
        assert_eq!(off, None);
        let (_, _, on) = timed_polls(work(), true).await;
        match crate::hw_counters::probe() {
            Ok(()) => {
                let counts = on.expect("counted");
                assert!(counts.instructions > 0 && counts.cycles > 0, "{counts:?}");
            }
            Err(_) => assert_eq!(on, None, "this machine refuses the counters"),
        }
    }
}
