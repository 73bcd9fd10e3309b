//! Request routing and the handlers of the `/v1` API.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::body::PendingBody;
use crate::kv;
use crate::pipelines;
use crate::query::{parse_bool, parse_number, query_pairs, unknown_parameter};
use crate::streams;
use crate::wire::{DURATION_HEADER, EXIT_CODE_HEADER, INVOCATION_HEADER};
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, InvokeRequest, Runtime};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};

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
        health["mechanisms"] =
            serde_json::json!(faasrt_runtime::doctor::report(app.runtime.config()));
        return Ok(json(StatusCode::OK, &health));
    }
    if segments.as_slice() == ["healthz"] {
        return only(&method, Method::GET, "GET")
            .map(|()| json(StatusCode::OK, &health(&app.runtime)));
    }
    // Reads and invocations are open unless --auth-all; writes always need
    // the token, and so do a function's key-value state and its logs, which
    // are data, not metadata.
    let writes = method == Method::PUT
        || method == Method::DELETE
        || method == Method::PATCH
        || matches!(
            segments.as_slice(),
            ["v1", "streams", _, "start" | "drain" | "stop"]
                | ["v1", "functions", _, "kv" | "logs", ..]
        );
    if (writes || app.auth_all) && !app.token.admits(&request.headers) {
        return Err(ApiError::unauthorized());
    }
    match segments.as_slice() {
        ["metrics"] => {
            only(&method, Method::GET, "GET")?;
            let mut text = app.runtime.metrics_text();
            if let Some(otlp) = &app.otlp {
                otlp.append_to(&mut text);
            }
            let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
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
                &serde_json::json!({ "functions": app.runtime.statuses() }),
            ))
        }
        ["v1", "functions", name] => match method {
            Method::GET => Ok(json(StatusCode::OK, &app.runtime.status(name)?)),
            Method::PUT => deploy(app, name, request, body).await,
            Method::DELETE => Ok(json(StatusCode::OK, &app.runtime.remove(name).await?)),
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        },
        ["v1", "functions", name, "kv"] => {
            only(&method, Method::GET, "GET")?;
            kv::list(app, name, request).await
        }
        ["v1", "functions", name, "kv", key] => match method {
            Method::GET => kv::get(app, name, key).await,
            Method::PUT => kv::put(app, name, key, request, body).await,
            Method::DELETE => kv::delete(app, name, key).await,
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        },
        ["v1", "functions", name, "logs"] => {
            only(&method, Method::GET, "GET")?;
            crate::logs::get(app, name, request)
        }
        ["v1", "functions", name, "invoke"] => {
            only(&method, Method::POST, "POST")?;
            invoke(app, name, request, body).await
        }
        ["v1", "platform"] => {
            only(&method, Method::GET, "GET")?;
            crate::platform::get(app, request)
        }
        ["v1", "invocations"] => {
            only(&method, Method::GET, "GET")?;
            crate::invocations::list(app, request)
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
        ["v1", "streams"] => {
            only(&method, Method::GET, "GET")?;
            streams::list(app)
        }
        ["v1", "streams", name] => match method {
            Method::GET => streams::get(app, name),
            Method::PUT => streams::put(app, name, request, body).await,
            Method::DELETE => streams::remove(app, name),
            _ => Err(ApiError::method_not_allowed("GET, PUT, DELETE")),
        },
        ["v1", "streams", name, action @ ("start" | "drain" | "stop")] => {
            only(&method, Method::POST, "POST")?;
            streams::control(app, name, action).await
        }
        ["v1", "streams", name, "records"] => match method {
            Method::POST => streams::append(app, name, request, body).await,
            Method::GET => streams::input(app, name, request),
            _ => Err(ApiError::method_not_allowed("GET, POST")),
        },
        ["v1", "streams", name, "output"] => {
            only(&method, Method::GET, "GET")?;
            streams::output(app, name, request).await
        }
        ["v1", "streams", name, "state"] => {
            only(&method, Method::GET, "GET")?;
            streams::state(app, name)
        }
        ["v1", "streams", name, "stages", index] => {
            only(&method, Method::PATCH, "PATCH")?;
            streams::change_stage(app, name, index, request, body).await
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
            "kv_max_keys" => options.limits.kv_max_keys = Some(parse_number(&key, &value)?),
            "kv_max_bytes" => options.limits.kv_max_bytes = Some(parse_number(&key, &value)?),
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
                bounds_checks =
                    Some(faasrt_runtime::BoundsChecks::parse(&value).ok_or_else(|| {
                        ApiError::bad_query(format!(
                            "bounds_checks must be explicit or guard-pages, got {value:?}"
                        ))
                    })?);
            }
            _ => {
                return Err(unknown_parameter(
                    &key,
                    "arg, memory_mb, timeout_ms, max_concurrency, kv_max_keys, kv_max_bytes, preinit, kind, bounds_checks",
                ));
            }
        }
    }
    // Validate the name before reading a possibly large body.
    faasrt_runtime::FunctionName::parse(name)?;
    options.code = faasrt_runtime::Code::from_settings(native, skip_preinit, bounds_checks)?;
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
    app.runtime.check_deployed(name)?;
    let limit = app
        .max_body_bytes
        .min(app.runtime.config().get_max_input_bytes());
    let input = body.read(request, limit).await?;
    let invocation = app
        .runtime
        .invoke(
            name,
            InvokeRequest {
                args,
                input,
                trace: crate::wire::traceparent(request),
                ..Default::default()
            },
        )
        .await?;
    let duration_us = invocation.duration.as_micros().to_string();
    let exit_code = invocation.status.exit_code().to_string();
    let invocation_seq = invocation.seq;
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
    headers.insert(INVOCATION_HEADER, HeaderValue::from(invocation_seq));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasrt_runtime::RequestedLimits;

    #[test]
    fn requested_limits_default_to_none() {
        // A deploy without limit parameters leaves both to the server.
        assert_eq!(DeployOptions::default().limits, RequestedLimits::default());
    }
}
