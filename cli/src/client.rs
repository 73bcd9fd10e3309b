//! A small client of the HTTP API, used by the CLI (and usable by tools).

use bytes::Bytes;
use faasrt_runtime::{Code, DeployOptions, FunctionInfo, FunctionName, error_chain};
use faasrt_server::{
    DURATION_HEADER, EXIT_CODE_HEADER, EXIT_CODE_TRAILER, PIPESTATUS_TRAILER, STAGE_ERRORS_TRAILER,
};
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not an `http://host:port` URL.
    #[error("invalid server URL {0:?}: expected http://HOST:PORT")]
    InvalidServer(String),
    /// A local argument is invalid (a bad function name, say).
    #[error("{0}")]
    InvalidArgument(String),
    /// The server could not be reached.
    #[error(
        "cannot reach the faasrt server at {server}: {reason} (is `faasrt serve` running? set --server or FAASRT_SERVER)"
    )]
    Unreachable {
        /// The server URL.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error.
    #[error("{message} ({status} {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The human message.
        message: String,
        /// The whole JSON error body.
        body: Value,
    },
    /// The server's answer could not be understood.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
}

/// The answer to an invocation that ran, successful or not.
#[derive(Debug)]
pub struct InvokeOutcome {
    /// The function's exit code.
    pub exit_code: i32,
    /// How long it ran, in microseconds.
    pub duration_us: u64,
    /// Its output (empty when it failed).
    pub output: Bytes,
    /// The JSON error body when it failed.
    pub error: Option<Value>,
}

/// How a pipeline run through [`Client::pipe`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeOutcome {
    /// The last stage's exit code.
    pub exit_code: i32,
    /// Every stage's exit code, first to last.
    pub pipestatus: Vec<i32>,
    /// The stages that failed with a message (could not start, trapped,
    /// timed out), first to last.
    pub stage_errors: Vec<StageError>,
}

/// A pipeline stage that failed with a message, as the server reports it.
pub use faasrt_server::StageError;

impl PipeOutcome {
    fn from_trailers(trailers: &hyper::HeaderMap) -> Result<Self, ClientError> {
        let text = |name: &str| {
            trailers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ClientError::BadResponse(format!("missing trailer {name}")))
        };
        let pipestatus = text(PIPESTATUS_TRAILER)?
            .split_whitespace()
            .map(|code| {
                code.parse()
                    .map_err(|_| ClientError::BadResponse(format!("bad status {code:?}")))
            })
            .collect::<Result<Vec<i32>, _>>()?;
        let exit_code = text(EXIT_CODE_TRAILER)?
            .parse()
            .map_err(|_| ClientError::BadResponse("bad exit code trailer".into()))?;
        let stage_errors = match trailers.get(STAGE_ERRORS_TRAILER) {
            None => Vec::new(),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|text| serde_json::from_str(text).ok())
                .ok_or_else(|| ClientError::BadResponse("bad stage errors trailer".into()))?,
        };
        Ok(PipeOutcome {
            exit_code,
            pipestatus,
            stage_errors,
        })
    }
}

/// A request body fed chunk by chunk from a channel (stdin, for `pipe`).
pub struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(hyper::body::Frame::data(bytes))))
    }
}

/// A client of one faasrt server.
pub struct Client {
    base: String,
    token: Option<String>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the server at `server` (`http://host:port`), presenting
    /// `token` when there is one.
    ///
    /// # Errors
    /// [`ClientError::InvalidServer`] for anything but an http URL.
    pub fn new(server: &str, token: Option<String>) -> Result<Self, ClientError> {
        let base = server.trim_end_matches('/').to_owned();
        let valid = base
            .strip_prefix("http://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
        if !valid || base.parse::<hyper::Uri>().is_err() {
            return Err(ClientError::InvalidServer(server.to_owned()));
        }
        let http = HyperClient::builder(TokioExecutor::new()).build_http();
        Ok(Client { base, token, http })
    }

    /// Deploys `module` as `name` with `options`.
    pub async fn deploy(
        &self,
        name: &str,
        module: Bytes,
        options: &DeployOptions,
    ) -> Result<FunctionInfo, ClientError> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for arg in &options.args {
            query.append_pair("arg", arg);
        }
        if let Some(mb) = options.limits.memory_mb {
            query.append_pair("memory_mb", &mb.to_string());
        }
        if let Some(ms) = options.limits.timeout_ms {
            query.append_pair("timeout_ms", &ms.to_string());
        }
        if let Some(limit) = options.limits.kv_max_keys {
            query.append_pair("kv_max_keys", &limit.to_string());
        }
        if let Some(limit) = options.limits.kv_max_bytes {
            query.append_pair("kv_max_bytes", &limit.to_string());
        }
        if let Some(limit) = options.limits.max_concurrency {
            query.append_pair("max_concurrency", &limit.to_string());
        }
        match &options.code {
            Code::Native => {
                query.append_pair("kind", "native");
            }
            Code::Wasm(wasm) => {
                if wasm.skip_preinit {
                    query.append_pair("preinit", "false");
                }
                if let Some(mode) = wasm.bounds_checks {
                    query.append_pair("bounds_checks", mode.as_str());
                }
            }
        }
        let path = format!("/v1/functions/{}?{}", checked(name)?, query.finish());
        let body = self.call(Method::PUT, &path, module).await?;
        parse_json(&body)
    }

    /// Invokes `name` with `args` and `input`.
    ///
    /// A function that fails is an `Ok` outcome with its exit code; errors
    /// are for calls that did not run the function (unknown function, 429).
    pub async fn invoke(
        &self,
        name: &str,
        args: &[String],
        input: Bytes,
    ) -> Result<InvokeOutcome, ClientError> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for arg in args {
            query.append_pair("arg", arg);
        }
        let path = format!("/v1/functions/{}/invoke?{}", checked(name)?, query.finish());
        let response = self.send(Method::POST, &path, input).await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let exit_code = header(EXIT_CODE_HEADER);
        let duration_us = header(DURATION_HEADER);
        let body = collect(response).await?;
        let Some(exit_code) = exit_code else {
            return Err(api_error(status, &body));
        };
        let exit_code = exit_code.parse().map_err(|_| {
            ClientError::BadResponse(format!("bad {EXIT_CODE_HEADER} {exit_code:?}"))
        })?;
        let duration_us = duration_us.and_then(|d| d.parse().ok()).unwrap_or(0);
        if status.is_success() {
            Ok(InvokeOutcome {
                exit_code,
                duration_us,
                output: body,
                error: None,
            })
        } else {
            Ok(InvokeOutcome {
                exit_code,
                duration_us,
                output: Bytes::new(),
                error: Some(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            })
        }
    }

    /// Runs the pipeline `spec` on the server: `input` chunks stream into its
    /// first stage, `on_output` receives the last stage's output as it
    /// arrives, and the statuses come from the response's trailers.
    ///
    /// # Errors
    /// [`ClientError::Api`] for a refused spec (unknown function, malformed),
    /// [`ClientError::Unreachable`], and [`ClientError::BadResponse`] when
    /// the answer ends without its statuses.
    pub async fn pipe(
        &self,
        spec: &str,
        input: tokio::sync::mpsc::Receiver<Bytes>,
        mut on_output: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<PipeOutcome, ClientError> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("spec", spec)
            .finish();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/v1/pipelines/run?{query}", self.base))
            .header(hyper::header::TE, "trailers")
            .header(CONTENT_TYPE, "application/octet-stream");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(ChannelBody(input))
            .map_err(|e| ClientError::InvalidArgument(format!("cannot build request: {e}")))?;
        let http = HyperClient::builder(TokioExecutor::new()).build_http::<ChannelBody>();
        let response = http
            .request(request)
            .await
            .map_err(|e| ClientError::Unreachable {
                server: self.base.clone(),
                reason: error_chain(&e),
            })?;
        let status = response.status();
        let mut body = response.into_body();
        if !status.is_success() {
            let bytes = body
                .collect()
                .await
                .map_err(|e| ClientError::BadResponse(e.to_string()))?
                .to_bytes();
            return Err(api_error(status, &bytes));
        }
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ClientError::BadResponse(format!("output stream broke: {e}")))?;
            match frame.into_data() {
                Ok(data) => on_output(&data).map_err(|e| {
                    ClientError::InvalidArgument(format!("cannot write the output: {e}"))
                })?,
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        return PipeOutcome::from_trailers(&trailers);
                    }
                }
            }
        }
        Err(ClientError::BadResponse(
            "the pipeline's answer ended without its statuses (trailers)".into(),
        ))
    }

    /// GETs `path` (built from checked names), a route that answers JSON
    /// lines, and calls `on_line` with each complete line as it comes, until
    /// the server ends the body or `on_line` fails.
    ///
    /// # Errors
    /// [`ClientError::Api`] for a refused request, [`ClientError::Unreachable`],
    /// [`ClientError::BadResponse`] when the body breaks off, and what
    /// `on_line` returns.
    pub async fn follow_lines(
        &self,
        path: &str,
        mut on_line: impl FnMut(&[u8]) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let response = self.send(Method::GET, path, Bytes::new()).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(api_error(status, &collect(response).await?));
        }
        let mut body = response.into_body();
        let mut pending = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ClientError::BadResponse(format!("the feed broke: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            pending.extend_from_slice(&data);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                on_line(&pending[..end])?;
                pending.drain(..=end);
            }
        }
        if !pending.is_empty() {
            on_line(&pending)?;
        }
        Ok(())
    }

    /// Lists the deployed functions.
    pub async fn list(&self) -> Result<Vec<FunctionInfo>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Listing {
            functions: Vec<FunctionInfo>,
        }
        let body = self
            .call(Method::GET, "/v1/functions", Bytes::new())
            .await?;
        Ok(parse_json::<Listing>(&body)?.functions)
    }

    /// Removes `name`; returns what was removed.
    pub async fn remove(&self, name: &str) -> Result<FunctionInfo, ClientError> {
        let path = format!("/v1/functions/{}", checked(name)?);
        let body = self.call(Method::DELETE, &path, Bytes::new()).await?;
        parse_json(&body)
    }

    /// Calls a JSON route: `path` must be built from checked names.
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<serde_json::Value, ClientError> {
        let body = self.call(method, path, body).await?;
        parse_json(&body)
    }

    /// Calls a route that answers bytes; returns them and the answer's
    /// headers.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(Bytes, hyper::HeaderMap), ClientError> {
        let response = self.send(method, path, body).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = collect(response).await?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok((body, headers))
    }

    async fn call(&self, method: Method, path: &str, body: Bytes) -> Result<Bytes, ClientError> {
        let response = self.send(method, path, body).await?;
        let status = response.status();
        let body = collect(response).await?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok(body)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ClientError> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header(CONTENT_TYPE, "application/octet-stream");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::InvalidArgument(format!("cannot build request: {e}")))?;
        self.http
            .request(request)
            .await
            .map_err(|e| ClientError::Unreachable {
                server: self.base.clone(),
                reason: error_chain(&e),
            })
    }
}

pub(crate) fn checked(name: &str) -> Result<&str, ClientError> {
    // A name is checked before it goes into a URL path: nothing else could
    // be smuggled into the request line.
    FunctionName::parse(name)
        .map(|_| name)
        .map_err(|e| ClientError::InvalidArgument(e.to_string()))
}

async fn collect(response: hyper::Response<hyper::body::Incoming>) -> Result<Bytes, ClientError> {
    response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ClientError::BadResponse(format!("reading the body: {e}")))
}

fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = value["error"]["code"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    let message = value["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    ClientError::Api {
        status: status.as_u16(),
        code,
        message,
        body: value,
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::BadResponse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_servers() {
        assert!(Client::new("http://127.0.0.1:8080", None).is_ok());
        assert!(Client::new("http://localhost:8080/", None).is_ok());
        assert!(matches!(
            Client::new("ftp://x", None),
            Err(ClientError::InvalidServer(_))
        ));
        assert!(matches!(
            Client::new("http://h/path", None),
            Err(ClientError::InvalidServer(_))
        ));
    }
}
