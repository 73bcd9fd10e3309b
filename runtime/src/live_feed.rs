//! A feed of items to live followers that never slows its publisher: items
//! are built and sent only while someone follows, and a follower that falls
//! behind loses the oldest (counted) instead of making the publisher wait.
//! The journal, the function logs and the platform samples each have one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::broadcast;

/// Items in flight to each follower before it starts losing them.
pub(crate) const FEED_CAPACITY: usize = 4_096;

/// The publishing side.
pub(crate) struct LiveFeed<T> {
    sender: broadcast::Sender<Arc<T>>,
    followers: Arc<AtomicUsize>,
}

/// A live follower of a feed: every item published from when it was made.
pub struct Follower<T> {
    receiver: broadcast::Receiver<Arc<T>>,
    lost: u64,
    followers: Arc<AtomicUsize>,
}

impl<T> LiveFeed<T> {
    /// A feed that keeps `capacity` items in flight per follower.
    pub(crate) fn new(capacity: usize) -> Self {
        LiveFeed {
            sender: broadcast::channel(capacity).0,
            followers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Whether anyone follows: callers skip building items nobody reads.
    pub(crate) fn followed(&self) -> bool {
        self.followers.load(Ordering::Relaxed) > 0
    }

    /// Sends `item` to every follower.
    pub(crate) fn publish(&self, item: Arc<T>) {
        // A follower that left in between is not an error.
        let _ = self.sender.send(item);
    }

    /// A follower of every item published from now on.
    pub(crate) fn follow(&self) -> Follower<T> {
        self.followers.fetch_add(1, Ordering::Relaxed);
        Follower {
            receiver: self.sender.subscribe(),
            lost: 0,
            followers: self.followers.clone(),
        }
    }
}

impl<T> Drop for Follower<T> {
    fn drop(&mut self) {
        self.followers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T: Clone> Follower<T> {
    /// The next item; `None` once the publisher is gone. Items this
    /// follower was too slow for are skipped and counted in
    /// [`Follower::lost`].
    pub async fn next(&mut self) -> Option<Arc<T>> {
        loop {
            match self.receiver.recv().await {
                Ok(item) => return Some(item),
                Err(broadcast::error::RecvError::Lagged(skipped)) => self.lost += skipped,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Items this follower lost by falling behind.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_follower_loses_the_oldest_items_and_counts_them() {
        let feed = LiveFeed::new(4);
        let mut follower = feed.follow();
        assert!(feed.followed());
        for item in 0..10 {
            feed.publish(Arc::new(item));
        }
        let io = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(*io.block_on(follower.next()).unwrap(), 6);
        assert_eq!(follower.lost(), 6);
        drop(follower);
        assert!(!feed.followed());
    }
}
