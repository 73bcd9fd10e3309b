//! The pipeline routes: ad hoc runs, named pipelines, and the streaming
//! body that carries a pipeline's output with its statuses as trailers.
//!
//! The request body streams into the first stage and the last stage's
//! output streams out as the response body, both through bounded pipes: a
//! 10 GiB input passes in bounded memory. Per-stage statuses come at the end,
//! as trailers (`x-faasrt-pipestatus: 0 0 1`, `x-faasrt-exit-code`), sent to
//! clients that ask for them with `TE: trailers`; `?summary=json` answers one
//! JSON document with the output and every stage's result instead.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::body::PendingBody;
use crate::query::{query_pairs, unknown_parameter};
use crate::wire::{EXIT_CODE_TRAILER, PIPESTATUS_TRAILER, STAGE_ERRORS_TRAILER, StageError};
use bytes::Bytes;
use faasrt_host_api::{PipeReader, PipeWriter, ReadOutcome, pipe};
use faasrt_runtime::Outcome;
use faasrt_runtime::Runtime;
use faasrt_runtime::pipeline::{PipelineResult, PipelineSpec};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TRAILER};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

/// Longest message of one stage in [`STAGE_ERRORS_TRAILER`], in characters.
const STAGE_MESSAGE_CHARS: usize = 1000;

/// How much output one read hands to the response at most.
const FRAME_BYTES: usize = 64 << 10;

/// `POST /v1/pipelines/run?spec=SPEC[&summary=json]`, body = the input.
pub(crate) async fn run_ad_hoc(
    app: &App,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let mut spec = None;
    let mut summary = false;
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "spec" => spec = Some(PipelineSpec::parse(&value)?),
            "summary" => summary = parse_summary(&value)?,
            _ => return Err(unknown_parameter(&key, "spec, summary")),
        }
    }
    let spec = spec.ok_or_else(|| {
        ApiError::bad_query(
            "the spec query parameter is required, e.g. spec=grep%20x%20|%20wc%20-l",
        )
    })?;
    run(app, &spec, summary, crate::wire::traceparent(request), body).await
}

/// `POST /v1/pipelines/{name}/invoke[?summary=json]`, body = the input.
pub(crate) async fn run_named(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let mut summary = false;
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "summary" => summary = parse_summary(&value)?,
            _ => return Err(unknown_parameter(&key, "summary")),
        }
    }
    let info = app.runtime.get_pipeline(name)?;
    let spec = PipelineSpec {
        stages: info.stages,
    };
    run(app, &spec, summary, crate::wire::traceparent(request), body).await
}

fn parse_summary(value: &str) -> Result<bool, ApiError> {
    match value {
        "json" => Ok(true),
        "none" => Ok(false),
        _ => Err(ApiError::bad_query(format!(
            "summary must be json or none, got {value:?}"
        ))),
    }
}

/// `PUT /v1/pipelines/{name}`, body = the JSON spec.
pub(crate) async fn put(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    faasrt_runtime::FunctionName::parse(name)?;
    let bytes = body.read(request, 1 << 20).await?;
    let spec = PipelineSpec::from_json(&bytes)?;
    let info = app.runtime.put_pipeline(name, spec).await?;
    Ok(json(StatusCode::CREATED, &info))
}

/// `GET /v1/pipelines/{name}`.
pub(crate) fn get(app: &App, name: &str) -> Result<HttpResponse, ApiError> {
    Ok(json(StatusCode::OK, &app.runtime.get_pipeline(name)?))
}

/// `GET /v1/pipelines`.
pub(crate) fn list(app: &App) -> Result<HttpResponse, ApiError> {
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "pipelines": app.runtime.list_pipelines()? }),
    ))
}

/// `DELETE /v1/pipelines/{name}`.
pub(crate) async fn remove(app: &App, name: &str) -> Result<HttpResponse, ApiError> {
    Ok(json(
        StatusCode::OK,
        &app.runtime.remove_pipeline(name).await?,
    ))
}

/// Starts `spec` with the request body as its input; answers with its output
/// streamed (or a JSON summary).
async fn run(
    app: &App,
    spec: &PipelineSpec,
    summary: bool,
    trace: Option<faasrt_runtime::TraceContext>,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    // Every check that can fail is done before the answer starts.
    let prepared = app.runtime.prepare_pipeline(spec)?.with_trace(trace);
    let capacity = app.runtime.config().get_pipe_capacity();
    let (input_writer, input_reader) = pipe(capacity);
    let (output_writer, output_reader) = pipe(capacity);
    let (result_sender, result_receiver) = oneshot::channel();
    let mut incoming = body.take();
    tokio::spawn(async move {
        let result = {
            let run = prepared.run(input_reader, output_writer);
            let feed = feed(incoming.as_mut(), input_writer);
            tokio::pin!(run, feed);
            let mut fed = false;
            // The pipeline decides when it is over: input the first stage
            // never read (or a client that never ends its body) must not
            // keep it open.
            loop {
                tokio::select! {
                    result = &mut run => break result,
                    () = &mut feed, if !fed => fed = true,
                }
            }
        };
        let _ = result_sender.send(result);
        // A client still sending (`yes | faasrt pipe 'head'`) must get the
        // end of the answer: closing a socket with unread input resets the
        // connection, and the reset can destroy the answer's tail in the
        // client's kernel. So the rest of the input is read and dropped for
        // a while, which the client ends by closing once it has the answer.
        if let Some(body) = incoming {
            let _ = tokio::time::timeout(LINGER, discard(body)).await;
        }
    });
    if summary {
        return Ok(summarize(&app.runtime, output_reader, result_receiver).await);
    }
    let mut response = Response::new(
        PipelineBody {
            output: Some(output_reader),
            result: Some(result_receiver),
        }
        .boxed(),
    );
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        TRAILER,
        HeaderValue::from_static("x-faasrt-pipestatus, x-faasrt-exit-code, x-faasrt-stage-errors"),
    );
    Ok(response)
}

/// How long input is still read (and dropped) after a pipeline ended.
const LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// Copies the request body into the first stage's input; its end (or a
/// broken pipe: the first stage stopped reading) drops the writer, which is
/// EOF for the stage. After a broken pipe nothing more is read, so TCP holds
/// the client back while the pipeline finishes.
async fn feed(body: Option<&mut Incoming>, writer: PipeWriter) {
    let Some(body) = body else {
        return;
    };
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data()
            && writer.write_all(data).await.is_err()
        {
            return;
        }
    }
}

/// Reads what is left of a body and drops it.
async fn discard(mut body: Incoming) {
    while let Some(Ok(_)) = body.frame().await {}
}

/// Collects the output (up to the output limit) and answers one JSON
/// document with it and the result.
async fn summarize(
    runtime: &Runtime,
    output: PipeReader,
    result: oneshot::Receiver<PipelineResult>,
) -> HttpResponse {
    let limit = runtime.config().get_max_output_bytes();
    let mut collected = Vec::new();
    let mut truncated = false;
    while let ReadOutcome::Data(bytes) = output.read(FRAME_BYTES).await {
        if collected.len() + bytes.len() > limit {
            truncated = true;
            break;
        }
        collected.extend_from_slice(&bytes);
    }
    // Past the limit the reader goes: the last stage sees a broken pipe.
    drop(output);
    match result.await {
        Ok(result) => json(
            StatusCode::OK,
            &serde_json::json!({
                "exit_code": result.exit_code(),
                "pipestatus": result.pipestatus(),
                "output": String::from_utf8_lossy(&collected),
                "truncated": truncated,
                "duration_us": result.duration_us,
                "stages": result.stages,
            }),
        ),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the pipeline task ended without a result",
        )
        .into_response()
        .map(BodyExt::boxed),
    }
}

/// A response body: the last stage's output as it is produced, then the
/// statuses as trailers.
struct PipelineBody {
    output: Option<PipeReader>,
    result: Option<oneshot::Receiver<PipelineResult>>,
}

impl Body for PipelineBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(output) = &this.output {
            match output.poll_read(cx, FRAME_BYTES) {
                Poll::Ready(ReadOutcome::Data(bytes)) => {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Poll::Ready(ReadOutcome::Eof) => this.output = None,
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Some(result) = &mut this.result {
            let outcome = std::task::ready!(Pin::new(result).poll(cx));
            this.result = None;
            if let Ok(result) = outcome {
                return Poll::Ready(Some(Ok(Frame::trailers(trailers(&result)))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.output.is_none() && self.result.is_none()
    }
}

fn trailers(result: &PipelineResult) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    let value = |text: String| HeaderValue::from_str(&text).expect("digits and spaces");
    trailers.insert(
        HeaderName::from_static(PIPESTATUS_TRAILER),
        value(result.pipestatus_text()),
    );
    trailers.insert(
        HeaderName::from_static(EXIT_CODE_TRAILER),
        value(result.exit_code().to_string()),
    );
    if let Some(errors) = stage_errors(result) {
        trailers.insert(
            HeaderName::from_static(STAGE_ERRORS_TRAILER),
            HeaderValue::from_str(&errors).expect("escaped to printable ASCII"),
        );
    }
    trailers
}

/// The [`STAGE_ERRORS_TRAILER`] value of `result`, if a stage failed other
/// than by exiting: a stage that exited non-zero said why itself, on its
/// log, as a program in a shell does.
fn stage_errors(result: &PipelineResult) -> Option<String> {
    let errors: Vec<StageError> = result
        .stages
        .iter()
        .enumerate()
        .filter(|(_, stage)| stage.outcome != Outcome::Exit)
        .filter_map(|(i, stage)| {
            Some(StageError {
                stage: i + 1,
                function: stage.function.clone(),
                message: stage
                    .message
                    .as_ref()?
                    .chars()
                    .take(STAGE_MESSAGE_CHARS)
                    .collect(),
            })
        })
        .collect();
    if errors.is_empty() {
        return None;
    }
    Some(ascii_json(
        &serde_json::to_value(&errors).expect("stage errors serialize"),
    ))
}

/// `value` as JSON text in printable ASCII, as a header value must be:
/// every other character is written as a `\uXXXX` escape (serde_json
/// escapes control characters already; outside strings JSON is ASCII).
fn ascii_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            escaped.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasrt_runtime::pipeline::StageResult;

    fn stage(function: &str, exit_code: i32, message: Option<&str>) -> StageResult {
        StageResult {
            function: function.into(),
            args: Vec::new(),
            exit_code,
            outcome: if message.is_some() {
                Outcome::Trap
            } else {
                Outcome::Ok
            },
            message: message.map(str::to_owned),
            bytes_in: 0,
            bytes_out: 0,
            duration_us: 0,
            log_tail: String::new(),
        }
    }

    #[test]
    fn failed_stages_are_listed_with_their_message_in_ascii() {
        let result = PipelineResult {
            stages: vec![
                stage("cat-native", 134, Some("cannot start the executable: é")),
                stage("grep", 1, None),
                stage("wc", 0, None),
            ],
            duration_us: 1,
        };
        let text = stage_errors(&result).expect("one failed stage");
        assert!(
            text.is_ascii() && HeaderValue::from_str(&text).is_ok(),
            "{text}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            parsed,
            serde_json::json!([{
                "stage": 1,
                "function": "cat-native",
                "message": "cannot start the executable: é",
            }])
        );
    }

    #[test]
    fn no_trailer_when_stages_only_exited() {
        let mut exited = stage("grep", 1, Some("function exited with status 1"));
        exited.outcome = Outcome::Exit;
        let result = PipelineResult {
            stages: vec![stage("cat", 0, None), exited],
            duration_us: 1,
        };
        assert_eq!(stage_errors(&result), None);
    }
}
