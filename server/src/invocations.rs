//! `GET /v1/invocations[?function=NAME&since=SEQ&limit=N]`: the runtime's
//! journal of recent invocations, as JSON; with `follow=true`, one
//! never-ending body of JSON lines, a record per line as invocations end
//! (after the journal's records past `since`), and a `{"lost": N}` line
//! when this follower fell behind and records were dropped for it. The
//! feed never slows an invocation.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::ndjson_feed::{FeedLines, respond};
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use faasrt_runtime::{InvocationRecord, JOURNAL_CAPACITY};
use hyper::StatusCode;
use hyper::http::request::Parts;

/// Records one answer carries when the request names no `limit`.
const DEFAULT_LIMIT: usize = 1_000;

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
    let follower = app.runtime.follow_invocations();
    let backlog = app
        .runtime
        .invocations(query.function.as_deref(), query.since, JOURNAL_CAPACITY);
    let function = query.function;
    let lines = FeedLines {
        follower,
        backlog,
        seq: |record: &InvocationRecord| record.seq,
        keep: move |record: &InvocationRecord| {
            function.as_deref().is_none_or(|f| &*record.function == f)
        },
    };
    respond(lines, app.closing.subscribe())
}
