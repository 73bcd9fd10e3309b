//! A task's inputs, one channel per upstream replica, with barriers
//! aligned: once barrier `e` arrived on an input, that input is not read
//! again until `e` arrived on all of them, so every record a task handles
//! before it passes `e` on belongs to epoch `e` or earlier (Flink's aligned
//! checkpoints, without spilling: the blocked upstream's channel fills and
//! backpressure holds it).

use super::messages::Message;
use super::stats::ReplicaStats;
use crate::batch::Batch;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::mpsc;

/// What [`AlignedInputs::next`] yields.
#[derive(Debug)]
pub(crate) enum Event {
    /// Records from one upstream.
    Records(Batch),
    /// Barrier `.0` arrived on every input.
    Aligned(u64),
    /// Every input ended.
    Ended,
}

/// An upstream went away without ending: it failed or the run is being
/// torn down.
#[derive(Debug)]
pub(crate) struct Disconnected;

/// The inputs of one task.
pub(crate) struct AlignedInputs {
    receivers: Vec<mpsc::Receiver<Message>>,
    /// Per input: the barrier it is blocked at.
    blocked: Vec<Option<u64>>,
    ended: Vec<bool>,
    /// The input polled first next time, so no input starves the others.
    next: usize,
    /// Where each batch's hop latency is recorded.
    stats: Option<Arc<ReplicaStats>>,
}

impl AlignedInputs {
    /// Inputs over `receivers`, one per upstream, recording each batch's
    /// hop latency in `stats`.
    pub(crate) fn new(
        receivers: Vec<mpsc::Receiver<Message>>,
        stats: Option<Arc<ReplicaStats>>,
    ) -> Self {
        let count = receivers.len();
        AlignedInputs {
            receivers,
            blocked: vec![None; count],
            ended: vec![false; count],
            next: 0,
            stats,
        }
    }

    /// Whether a message is waiting on an input that may be read now (not
    /// blocked at a barrier, not ended): the task has more to do at once.
    pub(crate) fn has_ready(&self) -> bool {
        self.receivers
            .iter()
            .zip(self.blocked.iter().zip(&self.ended))
            .any(|(receiver, (blocked, ended))| blocked.is_none() && !ended && !receiver.is_empty())
    }

    /// The next event.
    ///
    /// # Errors
    /// [`Disconnected`] when an upstream dropped its end without ending.
    pub(crate) async fn next(&mut self) -> Result<Event, Disconnected> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<Event, Disconnected>> {
        let count = self.receivers.len();
        for step in 0..count {
            let index = (self.next + step) % count;
            if self.blocked[index].is_some() || self.ended[index] {
                continue;
            }
            match self.receivers[index].poll_recv(cx) {
                Poll::Pending => {}
                Poll::Ready(None) => return Poll::Ready(Err(Disconnected)),
                Poll::Ready(Some(Message::Records(records, sent))) => {
                    if let Some(stats) = &self.stats {
                        stats.hop(sent.elapsed());
                    }
                    self.next = (index + 1) % count;
                    return Poll::Ready(Ok(Event::Records(records)));
                }
                Poll::Ready(Some(Message::Barrier(epoch))) => {
                    self.blocked[index] = Some(epoch);
                    if let Some(event) = self.aligned() {
                        return Poll::Ready(Ok(event));
                    }
                    // Another input may be ready: poll this one again
                    // through the waker so the others get their turn.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Some(Message::End)) => {
                    self.ended[index] = true;
                    if let Some(event) = self.aligned() {
                        return Poll::Ready(Ok(event));
                    }
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
        }
        Poll::Pending
    }

    /// The event that the inputs' marks make, if any: every open input is
    /// at a barrier (aligned), or every input ended.
    fn aligned(&mut self) -> Option<Event> {
        if self.ended.iter().all(|ended| *ended) {
            return Some(Event::Ended);
        }
        let mut epoch = None;
        for (blocked, ended) in self.blocked.iter().zip(&self.ended) {
            if *ended {
                continue;
            }
            epoch = Some((*blocked)?);
        }
        let epoch = epoch?;
        for blocked in &mut self.blocked {
            *blocked = None;
        }
        Some(Event::Aligned(epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Batch {
        let mut batch = Batch::new();
        batch.push(b"", text.as_bytes());
        batch
    }

    fn texts(event: Event) -> Vec<String> {
        match event {
            Event::Records(records) => records
                .iter()
                .map(|r| String::from_utf8_lossy(r.value).into_owned())
                .collect(),
            other => panic!("expected records, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_input_past_a_barrier_waits_for_the_others() {
        let (a_send, a) = mpsc::channel(8);
        let (b_send, b) = mpsc::channel(8);
        let mut inputs = AlignedInputs::new(vec![a, b], None);
        a_send.send(Message::Barrier(1)).await.expect("send");
        a_send
            .send(Message::Records(
                record("a-after"),
                std::time::Instant::now(),
            ))
            .await
            .expect("send");
        b_send
            .send(Message::Records(
                record("b-before"),
                std::time::Instant::now(),
            ))
            .await
            .expect("send");
        assert_eq!(texts(inputs.next().await.expect("event")), ["b-before"]);
        // a's record of epoch 2 is not read before b's barrier.
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), inputs.next());
        assert!(pending.await.is_err(), "a is blocked at its barrier");
        b_send.send(Message::Barrier(1)).await.expect("send");
        assert!(matches!(inputs.next().await, Ok(Event::Aligned(1))));
        assert_eq!(texts(inputs.next().await.expect("event")), ["a-after"]);
    }

    #[tokio::test]
    async fn the_end_comes_once_every_input_ended() {
        let (a_send, a) = mpsc::channel(8);
        let (b_send, b) = mpsc::channel(8);
        let mut inputs = AlignedInputs::new(vec![a, b], None);
        for send in [&a_send, &b_send] {
            send.send(Message::Barrier(3)).await.expect("send");
        }
        assert!(matches!(inputs.next().await, Ok(Event::Aligned(3))));
        a_send.send(Message::End).await.expect("send");
        b_send
            .send(Message::Records(record("late"), std::time::Instant::now()))
            .await
            .expect("send");
        assert_eq!(texts(inputs.next().await.expect("event")), ["late"]);
        b_send.send(Message::Barrier(4)).await.expect("send");
        // a ended, so b's barrier alone aligns.
        assert!(matches!(inputs.next().await, Ok(Event::Aligned(4))));
        b_send.send(Message::End).await.expect("send");
        assert!(matches!(inputs.next().await, Ok(Event::Ended)));
    }

    #[tokio::test]
    async fn an_upstream_that_vanishes_is_a_disconnect() {
        let (a_send, a) = mpsc::channel(8);
        let mut inputs = AlignedInputs::new(vec![a], None);
        drop(a_send);
        assert!(inputs.next().await.is_err());
    }
}
