//! `GET /v1/invocations[?function=NAME&since=SEQ&limit=N]`: the runtime's
//! journal of recent invocations, as JSON; with `follow=true`, one
//! never-ending body of JSON lines, a record per line as invocations end
//! (after the journal's records past `since`), and a `{"lost": N}` line
//! when this follower fell behind and records were dropped for it. The
//! feed never slows an invocation.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use crate::stream_follow::FollowBody;
use bytes::Bytes;
use faasrt_runtime::{InvocationRecord, JOURNAL_CAPACITY, JournalFeed, Runtime};
use http_body_util::BodyExt;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use tokio::sync::{mpsc, watch};

/// Records one answer carries when the request names no `limit`.
const DEFAULT_LIMIT: usize = 1_000;
/// Lines in flight to a slow follower before its reader waits (and the
/// journal's feed starts dropping for it).
const LINES_IN_FLIGHT: usize = 256;

/// Answers `GET /v1/invocations`.
pub(crate) fn list(app: &App, request: &Parts) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(request)?;
    if query.follow {
        return Ok(follow(app, query));
    }
    let records = app
        .runtime
        .invocations(query.function.as_deref(), query.since, query.limit);
    let next = records.last().map_or(query.since, |r| r.seq);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "invocations": records,
            "next": next,
            "capacity": JOURNAL_CAPACITY,
        }),
    ))
}

struct Query {
    function: Option<String>,
    since: u64,
    limit: usize,
    follow: bool,
}

impl Query {
    fn parse(request: &Parts) -> Result<Self, ApiError> {
        let mut query = Query {
            function: None,
            since: 0,
            limit: DEFAULT_LIMIT,
            follow: false,
        };
        for (key, value) in query_pairs(request) {
            match key.as_str() {
                "function" => query.function = Some(value),
                "since" => query.since = parse_number(&key, &value)?,
                "limit" => query.limit = parse_number::<usize>(&key, &value)?.min(JOURNAL_CAPACITY),
                "follow" => query.follow = parse_bool(&key, &value)?,
                _ => return Err(unknown_parameter(&key, "function, since, limit, follow")),
            }
        }
        Ok(query)
    }
}

fn follow(app: &App, query: Query) -> HttpResponse {
    // Subscribed before the journal is read, so no record falls between.
    let feed = app.runtime.follow_invocations();
    let (lines, receiver) = mpsc::channel(LINES_IN_FLIGHT);
    tokio::spawn(feed_lines(
        app.runtime.clone(),
        feed,
        query,
        lines,
        app.closing.subscribe(),
    ));
    let mut response = Response::new(FollowBody { receiver }.boxed());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// Writes the journal's records past `since`, then every new one, until the
/// client goes away or the server closes.
async fn feed_lines(
    runtime: Runtime,
    mut feed: JournalFeed,
    query: Query,
    lines: mpsc::Sender<Bytes>,
    mut closing: watch::Receiver<bool>,
) {
    let wanted = |r: &InvocationRecord| query.function.as_deref().is_none_or(|f| &*r.function == f);
    let mut last = query.since;
    for record in runtime.invocations(query.function.as_deref(), query.since, JOURNAL_CAPACITY) {
        last = record.seq;
        if lines.send(line(&record)).await.is_err() {
            return;
        }
    }
    let mut lost = 0;
    loop {
        if *closing.borrow() {
            return;
        }
        let record = tokio::select! {
            record = feed.next() => record,
            _ = closing.changed() => return,
            () = lines.closed() => return,
        };
        let Some(record) = record else { return };
        if feed.lost() > lost {
            let report = format!("{{\"lost\":{}}}\n", feed.lost() - lost);
            lost = feed.lost();
            if lines.send(Bytes::from(report)).await.is_err() {
                return;
            }
        }
        if record.seq <= last || !wanted(&record) {
            continue;
        }
        last = record.seq;
        if lines.send(line(&record)).await.is_err() {
            return;
        }
    }
}

fn line(record: &InvocationRecord) -> Bytes {
    let mut text = serde_json::to_vec(record).expect("a record serializes");
    text.push(b'\n');
    Bytes::from(text)
}
