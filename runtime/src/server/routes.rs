//! Request routing and the handlers of the `/v1` API.

use super::api_error::ApiError;
use super::auth::Token;
use super::pipelines;
use crate::function::DeployOptions;
use crate::invocation::InvokeRequest;
use crate::runtime::Runtime;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use std::convert::Infallible;

/// Header carrying the function's exit code on an invoke answer.
pub const EXIT_CODE_HEADER: &str = "x-faasrt-exit-code";
/// Header carrying the invocation's duration in microseconds.
pub const DURATION_HEADER: &str = "x-faasrt-duration-us";

/// What every request handler can reach.
pub(crate) struct App {
    pub runtime: Runtime,
    pub token: Token,
    pub auth_all: bool,
    pub max_body_bytes: usize,
}

/// Every answer: a whole body or a stream, behind one boxed type.
pub(crate) type HttpResponse = Response<BoxBody<Bytes, Infallible>>;

/// Answers one request; every error becomes a JSON error response.
pub(crate) async fn handle(app: &App, request: Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let mut body = PendingBody::new(body);
    let response = match route(app, &parts, &mut body).await {
        Ok(response) => response,
        Err(error) => error.into_response().map(BodyExt::boxed),
    };
    // A client still sending a body it was refused for would see a broken
    // pipe instead of the answer: read the rest before answering.
    body.drain().await;
    response
}

async fn route(
    app: &App,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let path = request.uri.path().to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = request.method.clone();
    if segments.as_slice() == ["healthz"] && request.uri.query() == Some("verbose=1") {
        only(&method, Method::GET, "GET")?;
        let mut health = health(&app.runtime);
        health["mechanisms"] = serde_json::json!(crate::doctor::report(app.runtime.config()));
        return Ok(json(StatusCode::OK, &health));
    }
    if segments.as_slice() == ["healthz"] {
        return only(&method, Method::GET, "GET")
            .map(|()| json(StatusCode::OK, &health(&app.runtime)));
    }
    // Reads and invocations are open unless --auth-all; writes always need
    // the token.
    let writes = method == Method::PUT || method == Method::DELETE;
    if (writes || app.auth_all) && !app.token.admits(&request.headers) {
        return Err(ApiError::unauthorized());
    }
    match segments.as_slice() {
        ["metrics"] => {
            only(&method, Method::GET, "GET")?;
            let mut response =
                Response::new(Full::new(Bytes::from(app.runtime.metrics_text())).boxed());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(response)
        }
        ["v1", "functions"] => {
            only(&method, Method::GET, "GET")?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "functions": app.runtime.list() }),
            ))
        }
        ["v1", "functions", name] => match method {
            Method::GET => Ok(json(StatusCode::OK, &app.runtime.get(name)?)),
            Method::PUT => deploy(app, name, request, body).await,
            Method::DELETE => Ok(json(StatusCode::OK, &app.runtime.remove(name).await?)),
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        },
        ["v1", "functions", name, "invoke"] => {
            only(&method, Method::POST, "POST")?;
            invoke(app, name, request, body).await
        }
        ["v1", "pipelines", "run"] => {
            only(&method, Method::POST, "POST")?;
            pipelines::run_ad_hoc(app, request, body).await
        }
        ["v1", "pipelines"] => {
            only(&method, Method::GET, "GET")?;
            pipelines::list(app)
        }
        ["v1", "pipelines", name] => match method {
            Method::GET => pipelines::get(app, name),
            Method::PUT => pipelines::put(app, name, request, body).await,
            Method::DELETE => pipelines::remove(app, name).await,
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        },
        ["v1", "pipelines", name, "invoke"] => {
            only(&method, Method::POST, "POST")?;
            pipelines::run_named(app, name, request, body).await
        }
        _ => Err(ApiError::route_not_found(&path)),
    }
}

fn only(method: &Method, expected: Method, allow: &'static str) -> Result<(), ApiError> {
    if *method == expected {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(allow))
    }
}

/// `PUT /v1/functions/{name}[?arg=X&memory_mb=N&timeout_ms=N&...]`, body =
/// wasm (or an executable with `kind=native`).
async fn deploy(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let mut options = DeployOptions::default();
    let (mut native, mut skip_preinit, mut bounds_checks) = (false, false, None);
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "arg" => options.args.push(value),
            "memory_mb" => options.limits.memory_mb = Some(parse_number(&key, &value)?),
            "timeout_ms" => options.limits.timeout_ms = Some(parse_number(&key, &value)?),
            "max_concurrency" => options.limits.max_concurrency = Some(parse_number(&key, &value)?),
            "preinit" => skip_preinit = !parse_bool(&key, &value)?,
            "kind" => {
                native = match value.as_str() {
                    "wasm" => false,
                    "native" => true,
                    _ => {
                        return Err(ApiError::bad_query(format!(
                            "kind must be wasm or native, got {value:?}"
                        )));
                    }
                }
            }
            "bounds_checks" => {
                bounds_checks = Some(crate::BoundsChecks::parse(&value).ok_or_else(|| {
                    ApiError::bad_query(format!(
                        "bounds_checks must be explicit or guard-pages, got {value:?}"
                    ))
                })?);
            }
            _ => {
                return Err(unknown_parameter(
                    &key,
                    "arg, memory_mb, timeout_ms, max_concurrency, preinit, kind, bounds_checks",
                ));
            }
        }
    }
    // Validate the name before reading a possibly large body.
    crate::name::FunctionName::parse(name)?;
    options.code = crate::function::Code::from_settings(native, skip_preinit, bounds_checks)?;
    let limit = app
        .max_body_bytes
        .min(app.runtime.config().get_max_module_bytes());
    let module = body.read(request, limit).await?;
    let info = app.runtime.deploy(name, module, options).await?;
    tracing::info!(function = %info.name, digest = %info.digest, size = info.size, "deployed");
    Ok(json(StatusCode::CREATED, &info))
}

/// The body of `/healthz`: `{"status": "ok"}`, or `"preparing"` with the
/// functions the server is still deploying (its examples, at start).
fn health(runtime: &Runtime) -> serde_json::Value {
    let preparing = runtime.still_preparing();
    if preparing.is_empty() {
        serde_json::json!({"status": "ok"})
    } else {
        serde_json::json!({"status": "preparing", "preparing": preparing})
    }
}

/// `POST /v1/functions/{name}/invoke[?arg=X&arg=Y]`, body = faasin.
async fn invoke(
    app: &App,
    name: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let mut args = Vec::new();
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "arg" => args.push(value),
            _ => return Err(unknown_parameter(&key, "arg")),
        }
    }
    // Refuse unknown functions before reading the input.
    app.runtime.get(name)?;
    let limit = app
        .max_body_bytes
        .min(app.runtime.config().get_max_input_bytes());
    let input = body.read(request, limit).await?;
    let invocation = app
        .runtime
        .invoke(name, InvokeRequest { args, input })
        .await?;
    let duration_us = invocation.duration.as_micros().to_string();
    let exit_code = invocation.status.exit_code().to_string();
    let mut response = if invocation.status.is_success() {
        let mut response = Response::new(Full::new(invocation.output).boxed());
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        response
    } else {
        ApiError::from_invocation(name, &invocation)
            .into_response()
            .map(BodyExt::boxed)
    };
    let headers = response.headers_mut();
    headers.insert(
        EXIT_CODE_HEADER,
        HeaderValue::from_str(&exit_code).expect("digits"),
    );
    headers.insert(
        DURATION_HEADER,
        HeaderValue::from_str(&duration_us).expect("digits"),
    );
    Ok(response)
}

pub(crate) fn query_pairs(request: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_query(format!(
            "{key} must be a non-negative integer, got {value:?}"
        ))
    })
}

pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_query(format!(
            "{key} must be true or false, got {value:?}"
        ))),
    }
}

pub(crate) fn unknown_parameter(key: &str, known: &str) -> ApiError {
    ApiError::bad_query(format!(
        "unknown query parameter {key:?}; this route accepts {known}"
    ))
}

/// How much of a refused body is read and thrown away so that the client
/// gets the answer; past this the connection is simply closed.
const DRAIN_LIMIT: u64 = 64 << 20;

/// A request body that a handler may read once; what is left unread is
/// drained after the handler answers.
pub(crate) struct PendingBody {
    body: Option<Incoming>,
}

impl PendingBody {
    fn new(body: Incoming) -> Self {
        PendingBody { body: Some(body) }
    }

    /// Takes the body to stream it (a pipeline's input); nothing is drained
    /// after the answer then.
    pub(crate) fn take(&mut self) -> Option<Incoming> {
        self.body.take()
    }

    /// Reads the whole body, refusing it (413) past `limit` bytes without
    /// keeping more than that in memory.
    pub(crate) async fn read(&mut self, request: &Parts, limit: usize) -> Result<Bytes, ApiError> {
        let declared = request
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared.filter(|len| *len > limit as u64) {
            if len > DRAIN_LIMIT {
                // Not worth reading just to refuse it: close instead.
                self.body = None;
            }
            return Err(ApiError::body_too_large(limit));
        }
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let mut buffer = bytes::BytesMut::new();
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("cannot read the request body: {error}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buffer.len() + data.len() > limit {
                    self.body = Some(body);
                    return Err(ApiError::body_too_large(limit));
                }
                buffer.extend_from_slice(&data);
            }
        }
        Ok(buffer.freeze())
    }

    /// Reads and discards what is left of the body, up to [`DRAIN_LIMIT`].
    async fn drain(&mut self) {
        let Some(mut body) = self.body.take() else {
            return;
        };
        let mut drained = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                drained += data.len() as u64;
                if drained > DRAIN_LIMIT {
                    break;
                }
            }
        }
    }
}

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    let body = serde_json::to_vec(value).expect("API values always serialize");
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::RequestedLimits;

    #[test]
    fn requested_limits_default_to_none() {
        // A deploy without limit parameters leaves both to the server.
        assert_eq!(DeployOptions::default().limits, RequestedLimits::default());
    }
}
