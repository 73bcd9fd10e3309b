//! The HTTP target: a faasrt server, invoked with
//! `POST /v1/functions/{name}/invoke` on keep-alive connections, each
//! request carrying its invocation's `traceparent`.
//!
//! A sending thread keeps at most `connections` requests on the wire, one
//! per connection it opened before the run; a request beyond them waits
//! for one to be free (the wait is in its latency, counted from its
//! scheduled time). Opening connections mid-run instead, to a server
//! already falling behind, makes it fall further behind.

use super::{Answer, InjectOptions, Target, TraceIds};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The faasrt server to invoke.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    /// Its address.
    pub addr: SocketAddr,
    /// Its token, for a server that runs with `--auth-all`.
    pub token: Option<String>,
}

/// One sending thread's client of an [`HttpTarget`].
pub(crate) struct HttpSender {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    /// The invoke path of each of the run's functions.
    paths: Vec<String>,
    authorization: Option<String>,
    timeout: Duration,
    /// One permit per connection: the requests on the wire at once.
    on_the_wire: tokio::sync::Semaphore,
}

impl HttpSender {
    /// A client of `target` for `functions`, with `options`' timeout.
    pub(crate) fn new(
        target: &HttpTarget,
        functions: &[Arc<str>],
        options: &InjectOptions,
    ) -> Self {
        HttpSender {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{}", target.addr),
            paths: functions
                .iter()
                .map(|f| format!("/v1/functions/{f}/invoke"))
                .collect(),
            authorization: target.token.as_ref().map(|t| format!("Bearer {t}")),
            timeout: options.request_timeout,
            on_the_wire: tokio::sync::Semaphore::new(options.connections.max(1)),
        }
    }

    async fn exchange(
        &self,
        function: usize,
        args: &[String],
        input: Bytes,
        trace: TraceIds,
    ) -> Result<(u16, Bytes), String> {
        let _connection = match self.on_the_wire.try_acquire() {
            Ok(permit) => permit,
            Err(_) => self
                .on_the_wire
                .acquire()
                .await
                .map_err(|e| e.to_string())?,
        };
        let mut uri = format!("{}{}", self.base, self.paths[function]);
        if !args.is_empty() {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for arg in args {
                query.append_pair("arg", arg);
            }
            uri.push('?');
            uri.push_str(&query.finish());
        }
        let mut builder = hyper::Request::post(uri).header("traceparent", trace.traceparent());
        if let Some(authorization) = &self.authorization {
            builder = builder.header("authorization", authorization);
        }
        let http = builder.body(Full::new(input)).map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(http)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

impl Target for HttpSender {
    async fn invoke(&self, function: usize, input: Bytes, trace: TraceIds) -> Answer {
        self.invoke_with_args(function, Vec::new(), input, trace)
            .await
    }

    async fn invoke_with_args(
        &self,
        function: usize,
        args: Vec<String>,
        input: Bytes,
        trace: TraceIds,
    ) -> Answer {
        match self.exchange(function, &args, input, trace).await {
            Ok((status, body)) if (200..300).contains(&status) => Answer::ok(body.len() as u64),
            Ok((status, body)) => Answer {
                status,
                response_bytes: body.len() as u64,
                error: Some(String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()),
            },
            Err(error) => Answer::failed(error),
        }
    }

    /// Opens up to `connections` keep-alive connections (concurrent
    /// `GET /healthz`), so that the first scheduled invocations find them.
    async fn warm_up(&self, connections: usize) {
        let probes = (0..connections).map(|_| async {
            let Ok(request) =
                hyper::Request::get(format!("{}/healthz", self.base)).body(Full::new(Bytes::new()))
            else {
                return;
            };
            if let Ok(Ok(response)) =
                tokio::time::timeout(self.timeout, self.client.request(request)).await
            {
                let _ = response.into_body().collect().await;
            }
        });
        futures::future::join_all(probes).await;
    }
}
