//! `GET /v1/streams/{name}/output?follow=true[&from=OFFSET]`: the committed
//! output as one never-ending chunked body. Each epoch's records are
//! written as soon as it commits, in the stream's framing, from `from` on;
//! the body ends when the client goes away, the stream is deleted, or the
//! server shuts down (so that a graceful shutdown never waits on a
//! follower).

use crate::app::{App, HttpResponse};
use crate::record_body::{encode_records, records_content_type};
use crate::wire::NEXT_OFFSET_HEADER;
use bytes::Bytes;
use faasrt_streams::{Framing, MAX_OUTPUT_RECORDS, Streams};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long one wait for the next commit lasts before it is renewed (and
/// the stream's existence checked again).
const WAIT: Duration = Duration::from_secs(30);
/// Chunks in flight to a slow client before the reader waits for it.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Answers with the output from `from` on, following it; `Faasrt-Next-Offset`
/// says where it starts.
pub(crate) fn follow(app: &App, name: &str, from: u64, framing: Framing) -> HttpResponse {
    let (chunks, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(feed(
        app.streams.clone(),
        name.to_owned(),
        from,
        framing,
        chunks,
        app.closing.subscribe(),
    ));
    let mut response = Response::new(FollowBody { receiver }.boxed());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, records_content_type(framing));
    headers.insert(NEXT_OFFSET_HEADER, HeaderValue::from(from));
    response
}

/// Reads committed output from `from` on and sends it to the body, until
/// the body is dropped, the stream is gone, or the server closes.
async fn feed(
    streams: Streams,
    name: String,
    mut from: u64,
    framing: Framing,
    chunks: mpsc::Sender<Bytes>,
    mut closing: watch::Receiver<bool>,
) {
    loop {
        if *closing.borrow() {
            return;
        }
        let read = tokio::select! {
            read = streams.output(&name, from, MAX_OUTPUT_RECORDS, WAIT) => read,
            _ = closing.changed() => return,
            () = chunks.closed() => return,
        };
        let Ok(chunk) = read else {
            // Deleted (or its store failed): the body ends here.
            return;
        };
        if chunk.records.is_empty() {
            continue;
        }
        let body = encode_records(framing, &chunk.records);
        from = chunk.next;
        if chunks.send(Bytes::from(body)).await.is_err() {
            return;
        }
    }
}

/// The body: chunks as the reader sends them; it ends when the reader does.
/// Also the body of `GET /v1/invocations?follow=true`.
pub(crate) struct FollowBody {
    pub(crate) receiver: mpsc::Receiver<Bytes>,
}

impl Body for FollowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}
