//! What every handler reaches ([`App`]) and the one answer type they
//! return ([`HttpResponse`], with [`json`] to build the common one).

use crate::auth::Token;
use bytes::Bytes;
use faasrt_runtime::Runtime;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use std::convert::Infallible;

/// What every request handler can reach.
pub(crate) struct App {
    /// The library the routes call.
    pub runtime: Runtime,
    /// The runtime's streams.
    pub streams: faasrt_streams::Streams,
    /// What management calls must present.
    pub token: Token,
    /// Whether reads and invocations need the token too.
    pub auth_all: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The OTLP exporter's counters, shown in `/metrics`, when it runs.
    pub otlp: Option<std::sync::Arc<crate::otlp::OtlpMetrics>>,
    /// Set when the server shuts down: never-ending answers (a followed
    /// stream output) end then.
    pub closing: tokio::sync::watch::Sender<bool>,
}

/// Every answer: a whole body or a stream, behind one boxed type.
pub(crate) type HttpResponse = Response<BoxBody<Bytes, Infallible>>;

/// A JSON answer with `status`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    let body = serde_json::to_vec(value).expect("API values always serialize");
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
