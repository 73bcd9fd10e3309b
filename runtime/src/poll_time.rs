//! How long a future ran: the sum of its polls on the monotonic clock. A
//! guest runs on a fiber inside its future's polls and nowhere else, so
//! this is the time it held a thread (including any time the kernel took
//! that thread away), without the time it waited.

use std::future::Future;
use std::time::{Duration, Instant};

/// Awaits `future` and returns its output with the time spent polling it.
pub(crate) async fn timed_polls<F: Future>(future: F) -> (F::Output, Duration) {
    let mut future = std::pin::pin!(future);
    let mut busy = Duration::ZERO;
    let output = std::future::poll_fn(|cx| {
        let began = Instant::now();
        let poll = future.as_mut().poll(cx);
        busy += began.elapsed();
        poll
    })
    .await;
    (output, busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_not_counted_and_working_is() {
        let ((), waited) = timed_polls(tokio::time::sleep(Duration::from_millis(30))).await;
        assert!(waited < Duration::from_millis(10), "{waited:?}");
        let ((), worked) =
            timed_polls(async { std::thread::sleep(Duration::from_millis(20)) }).await;
        assert!(worked >= Duration::from_millis(20), "{worked:?}");
    }
}
