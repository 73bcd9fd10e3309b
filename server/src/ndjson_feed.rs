//! A never-ending body of JSON lines fed from a runtime [`Follower`]: the
//! backlog first, then every new item as it comes, and a `{"lost": N}` line
//! when this reader fell behind and items were dropped for it. Used by
//! `GET /v1/invocations?follow=true`, `GET /v1/functions/{name}/logs?follow=1`
//! and `GET /v1/platform?follow=true`.

use crate::app::HttpResponse;
use crate::stream_follow::FollowBody;
use bytes::Bytes;
use faasrt_runtime::Follower;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

/// Lines in flight to a slow reader before its writer waits (and the
/// runtime's feed starts dropping for it).
const LINES_IN_FLIGHT: usize = 256;

/// What a feed writes and which of the follower's items it keeps.
pub(crate) struct FeedLines<T, K> {
    /// Subscribed before `backlog` was read, so no item falls between.
    pub(crate) follower: Follower<T>,
    /// The items before the feed's, oldest first.
    pub(crate) backlog: Vec<T>,
    /// An item's place in the order of items: one the backlog already
    /// carried (or an older one) is not written twice.
    pub(crate) seq: fn(&T) -> u64,
    /// Whether a new item belongs to this feed.
    pub(crate) keep: K,
}

/// The response whose body is `lines`, written until the client goes away
/// or `closing` says the server closes.
pub(crate) fn respond<T, K>(lines: FeedLines<T, K>, closing: watch::Receiver<bool>) -> HttpResponse
where
    T: Serialize + Clone + Send + Sync + 'static,
    K: Fn(&T) -> bool + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(LINES_IN_FLIGHT);
    tokio::spawn(write_lines(lines, sender, closing));
    let mut response = Response::new(FollowBody { receiver }.boxed());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

async fn write_lines<T, K>(
    lines: FeedLines<T, K>,
    sender: mpsc::Sender<Bytes>,
    mut closing: watch::Receiver<bool>,
) where
    T: Serialize + Clone + Send + Sync + 'static,
    K: Fn(&T) -> bool + Send + 'static,
{
    let FeedLines {
        mut follower,
        backlog,
        seq,
        keep,
    } = lines;
    let mut last = 0;
    for item in backlog {
        last = seq(&item);
        if sender.send(line(&item)).await.is_err() {
            return;
        }
    }
    let mut lost = 0;
    loop {
        if *closing.borrow() {
            return;
        }
        let item = tokio::select! {
            item = follower.next() => item,
            _ = closing.changed() => return,
            () = sender.closed() => return,
        };
        let Some(item) = item else { return };
        if follower.lost() > lost {
            let report = format!("{{\"lost\":{}}}\n", follower.lost() - lost);
            lost = follower.lost();
            if sender.send(Bytes::from(report)).await.is_err() {
                return;
            }
        }
        if seq(&item) <= last || !keep(&item) {
            continue;
        }
        last = seq(&item);
        if sender.send(line(&*item)).await.is_err() {
            return;
        }
    }
}

/// `item` as one line of JSON.
pub(crate) fn line<T: Serialize>(item: &T) -> Bytes {
    let mut text = serde_json::to_vec(item).expect("a feed's items serialize");
    text.push(b'\n');
    Bytes::from(text)
}
