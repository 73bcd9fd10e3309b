//! The `/v1/streams` handlers: create, inspect, start, drain, stop,
//! rescale and delete streams, append to their input log, and read their
//! committed output, input and state. The work is `faasrt_streams::Streams`'.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::body::PendingBody;
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use crate::record_body::{encode_records, records_content_type};
use crate::wire::{NEXT_OFFSET_HEADER, OUTPUT_END_HEADER};
use bytes::Bytes;
use faasrt_streams::framing::Record;
use faasrt_streams::{Framing, StreamError};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use std::time::Duration;

/// Largest stream spec accepted, in bytes.
const MAX_SPEC_BYTES: usize = 1 << 20;
/// Longest long-poll of the output log.
const MAX_WAIT_MS: u64 = 60_000;

/// `PUT /v1/streams/{name}`: 201 when created, 200 when it was already
/// there with the same spec.
pub(crate) async fn put(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let spec = body.read(request, MAX_SPEC_BYTES).await?;
    let (status, created) = app.streams.create(name, &spec)?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(code, &status))
}

/// `GET /v1/streams`.
pub(crate) fn list(app: &App) -> Result<HttpResponse, ApiError> {
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "streams": app.streams.list()? }),
    ))
}

/// `GET /v1/streams/{name}`.
pub(crate) fn get(app: &App, name: &str) -> Result<HttpResponse, ApiError> {
    Ok(json(StatusCode::OK, &app.streams.status(name)?))
}

/// `DELETE /v1/streams/{name}`.
pub(crate) fn remove(app: &App, name: &str) -> Result<HttpResponse, ApiError> {
    Ok(json(StatusCode::OK, &app.streams.remove(name)?))
}

/// `POST /v1/streams/{name}/start|drain|stop`.
pub(crate) async fn control(app: &App, name: &str, action: &str) -> Result<HttpResponse, ApiError> {
    let status = match action {
        "start" => app.streams.start(name)?,
        "drain" => app.streams.drain(name).await?,
        _ => app.streams.stop(name).await?,
    };
    Ok(json(StatusCode::OK, &status))
}

/// `PATCH /v1/streams/{name}/stages/{index}` with `{"replicas": N}`
/// (rescale) or `{"function": "f"}` (upgrade), at the next barrier.
pub(crate) async fn change_stage(
    app: &App,
    name: &str,
    index: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let index: usize = index.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "stage_not_found",
            format!("stages are counted from 0; {index:?} is not a stage index"),
        )
    })?;
    let bytes = body.read(request, MAX_SPEC_BYTES).await?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct StageChange {
        replicas: Option<u32>,
        function: Option<String>,
    }
    let invalid = |why: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body must be {{\"replicas\": N}} or {{\"function\": \"NAME\"}}: {why}"),
        )
    };
    let change: StageChange = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    match (change.replicas, change.function) {
        (Some(replicas), None) => {
            let rescaled = app.streams.scale(name, index, replicas).await?;
            Ok(json(StatusCode::OK, &rescaled))
        }
        (None, Some(function)) => {
            let upgraded = app.streams.upgrade(name, index, &function).await?;
            Ok(json(StatusCode::OK, &upgraded))
        }
        _ => Err(invalid("give exactly one of them".into())),
    }
}

/// `POST /v1/streams/{name}/records`: the body's records in the stream's
/// framing, acknowledged once durable. The append (a commit with its
/// fsync, about a millisecond) runs on a blocking thread: on an async
/// worker it would hold up the streams' replicas and every other request
/// scheduled there.
pub(crate) async fn append(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let bytes = body.read(request, app.max_body_bytes).await?;
    let streams = app.streams.clone();
    let name = name.to_owned();
    let ack = tokio::task::spawn_blocking(move || streams.append(&name, &bytes))
        .await
        .map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the append task failed: {error}"),
            )
        })??;
    Ok(json(StatusCode::OK, &ack))
}

/// `GET /v1/streams/{name}/output?from=OFFSET&max=N&wait_ms=MS`: committed
/// records from `from`, in the stream's framing; with none there yet,
/// waits up to `wait_ms` (long-poll). `Faasrt-Next-Offset` says where to
/// read next, `Faasrt-Output-End` how long the committed log is. With
/// `follow=true`, one never-ending body instead (`stream_follow.rs`).
pub(crate) async fn output(
    app: &App,
    name: &str,
    request: &Parts,
) -> Result<HttpResponse, ApiError> {
    let query = LogQuery::parse(request, true)?;
    let framing = app.streams.framing(name)?;
    if query.follow {
        return Ok(crate::stream_follow::follow(app, name, query.from, framing));
    }
    let chunk = app
        .streams
        .output(
            name,
            query.from,
            query.max,
            Duration::from_millis(query.wait_ms),
        )
        .await?;
    Ok(records_response(
        framing,
        &chunk.records,
        chunk.next,
        Some(chunk.end),
    ))
}

/// `GET /v1/streams/{name}/records?from=OFFSET&max=N`: the input log.
pub(crate) fn input(app: &App, name: &str, request: &Parts) -> Result<HttpResponse, ApiError> {
    let query = LogQuery::parse(request, false)?;
    let framing = app.streams.framing(name)?;
    let records = app.streams.input(name, query.from, query.max)?;
    let next = records.last().map_or(query.from, |r| r.offset + 1);
    Ok(records_response(framing, &records, next, None))
}

/// `GET /v1/streams/{name}/state`: the committed state, as JSON.
pub(crate) fn state(app: &App, name: &str) -> Result<HttpResponse, ApiError> {
    let entries: Vec<serde_json::Value> = app
        .streams
        .state(name)?
        .into_iter()
        .map(|entry| {
            serde_json::json!({
                "stage": entry.stage,
                "key": String::from_utf8_lossy(&entry.key),
                "value": String::from_utf8_lossy(&entry.value),
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "state": entries }),
    ))
}

struct LogQuery {
    from: u64,
    max: usize,
    wait_ms: u64,
    follow: bool,
}

impl LogQuery {
    fn parse(request: &Parts, waits: bool) -> Result<Self, ApiError> {
        let mut query = LogQuery {
            from: 0,
            max: faasrt_streams::MAX_OUTPUT_RECORDS,
            wait_ms: 0,
            follow: false,
        };
        let known = if waits {
            "from, max, wait_ms, follow"
        } else {
            "from, max"
        };
        for (key, value) in query_pairs(request) {
            match key.as_str() {
                "from" => query.from = parse_number(&key, &value)?,
                "max" => query.max = parse_number(&key, &value)?,
                "wait_ms" if waits => {
                    query.wait_ms = parse_number::<u64>(&key, &value)?.min(MAX_WAIT_MS);
                }
                "follow" if waits => query.follow = parse_bool(&key, &value)?,
                _ => return Err(unknown_parameter(&key, known)),
            }
        }
        Ok(query)
    }
}

fn records_response(
    framing: Framing,
    records: &[Record],
    next: u64,
    end: Option<u64>,
) -> HttpResponse {
    let body = encode_records(framing, records);
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, records_content_type(framing));
    headers.insert(NEXT_OFFSET_HEADER, HeaderValue::from(next));
    if let Some(end) = end {
        headers.insert(OUTPUT_END_HEADER, HeaderValue::from(end));
    }
    response
}

impl From<StreamError> for ApiError {
    fn from(error: StreamError) -> Self {
        use StreamError as E;
        let message = error.to_string();
        match error {
            E::InvalidName { name, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_name", message).with("name", name)
            }
            E::NotFound { name } => {
                ApiError::new(StatusCode::NOT_FOUND, "stream_not_found", message).with("name", name)
            }
            E::Spec(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_stream_spec", message),
            E::UnknownFunction { stage, function } => {
                ApiError::new(StatusCode::BAD_REQUEST, "function_not_found", message)
                    .with("stage", stage)
                    .with("function", function)
            }
            E::Records(faasrt_streams::framing::FramingError::RecordTooLarge { max, .. }) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large", message)
                    .with("limit", max)
            }
            E::Records(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_records", message),
            E::WrongState { state, .. } => {
                ApiError::new(StatusCode::CONFLICT, "wrong_state", message).with("state", state)
            }
            E::NoSuchStage { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "stage_not_found", message)
            }
            E::Replicas { max, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_replicas", message).with("max", max)
            }
            E::FileSource { file, .. } => {
                ApiError::new(StatusCode::CONFLICT, "source_is_file", message).with("file", file)
            }
            E::SourceFile { file, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_source", message).with("file", file)
            }
            E::Runtime(error) => ApiError::from(error),
            E::Store(_) | E::Corrupt(_) => {
                tracing::error!(%message, "stream store error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}
