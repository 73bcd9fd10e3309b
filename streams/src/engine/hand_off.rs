//! Handing the CPU to the task just woken downstream while this one still
//! has work: the difference between a hop of microseconds and one that
//! waits out the sender's next batches.
//!
//! When a task on a tokio worker wakes another (a send on an edge), the
//! woken task goes to that worker's LIFO slot: it runs as soon as the
//! sender blocks, and no other worker may take it before. A sender that
//! blocks next anyway (its input is empty) gives the best hop there is:
//! the receiver runs right after it, on the same worker, with the records
//! in cache. A sender that has more input ready would instead keep the
//! receiver waiting for as long as it keeps going (tokio's budget allows
//! 128 steps). [`hand_off`] is for that case: the sender wakes itself, so
//! that it takes the LIFO slot and the receiver moves to the worker's run
//! queue, where an idle worker steals it at once, and both run in parallel.

use std::future::poll_fn;
use std::task::Poll;

/// Yields once, rescheduling this task at the front of its worker (the
/// LIFO slot), which moves the task woken before it to the worker's run
/// queue and wakes an idle worker to take it.
pub(crate) async fn hand_off() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A task woken by one that then hands off gets to run while the
    /// sender still spins on: it is not stuck behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_woken_receiver_runs_while_the_sender_keeps_working() {
        let (send, mut receive) = tokio::sync::mpsc::channel::<()>(1);
        let received = Arc::new(AtomicBool::new(false));
        let seen = received.clone();
        let receiver = tokio::spawn(async move {
            receive.recv().await;
            seen.store(true, Ordering::SeqCst);
        });
        // Let the receiver park on its channel.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let sender = tokio::spawn(async move {
            send.send(()).await.expect("send");
            hand_off().await;
            // Busy, never blocking, for up to 5 s: without the hand-off
            // the receiver would sit in this worker's LIFO slot all along.
            let started = std::time::Instant::now();
            while !received.load(Ordering::SeqCst) {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(5),
                    "the receiver never ran while the sender worked"
                );
                std::hint::spin_loop();
            }
        });
        sender.await.expect("sender");
        receiver.await.expect("receiver");
    }
}
