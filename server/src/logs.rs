//! `GET /v1/functions/{name}/logs[?since=SEQ&invocation=SEQ&limit=N]`: the
//! function's recent logs, one entry per invocation that wrote to its log;
//! with `follow=1`, one never-ending body of JSON lines, an entry per line
//! as invocations end (after the kept entries past `since`). Logs are the
//! function's data: reading them takes the token.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::ndjson_feed::{FeedLines, respond};
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use faasrt_runtime::{FUNCTION_LOG_BYTES, LogEntry};
use hyper::StatusCode;
use hyper::http::request::Parts;

/// Entries one answer carries when the request names no `limit`.
const DEFAULT_LIMIT: usize = 1_000;

/// Answers `GET /v1/functions/{name}/logs`.
pub(crate) fn get(app: &App, name: &str, request: &Parts) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(request)?;
    if query.follow {
        if query.invocation.is_some() {
            return Err(ApiError::bad_query(
                "follow and invocation cannot be combined: follow streams every new \
                 invocation's log, invocation selects one that already ended",
            ));
        }
        // Subscribed before the kept entries are read, so none falls between.
        let follower = app.runtime.follow_logs();
        let backlog = app.runtime.logs(name, query.since, None, usize::MAX)?;
        let function = name.to_owned();
        let lines = FeedLines {
            follower,
            backlog,
            seq: |entry: &LogEntry| entry.invocation,
            keep: move |entry: &LogEntry| *entry.function == *function,
        };
        return Ok(respond(lines, app.closing.subscribe()));
    }
    let entries = app
        .runtime
        .logs(name, query.since, query.invocation, query.limit)?;
    if let Some(invocation) = query.invocation
        && entries.is_empty()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "log_not_found",
            format!(
                "no log of invocation {invocation} of {name} is kept: it wrote none, it is \
                 not one of {name}'s, or it is older than the newest {} KiB of its logs",
                FUNCTION_LOG_BYTES >> 10
            ),
        )
        .with("invocation", invocation));
    }
    let next = entries.last().map_or(query.since, |e| e.invocation);
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "logs": entries, "next": next }),
    ))
}

struct Query {
    since: u64,
    invocation: Option<u64>,
    limit: usize,
    follow: bool,
}

impl Query {
    fn parse(request: &Parts) -> Result<Self, ApiError> {
        let mut query = Query {
            since: 0,
            invocation: None,
            limit: DEFAULT_LIMIT,
            follow: false,
        };
        for (key, value) in query_pairs(request) {
            match key.as_str() {
                "since" => query.since = parse_number(&key, &value)?,
                "invocation" => query.invocation = Some(parse_number(&key, &value)?),
                "limit" => query.limit = parse_number(&key, &value)?,
                "follow" => query.follow = parse_bool(&key, &value)?,
                _ => return Err(unknown_parameter(&key, "since, invocation, limit, follow")),
            }
        }
        Ok(query)
    }
}
