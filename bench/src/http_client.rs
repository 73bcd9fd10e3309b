//! A benchmark's HTTP client of one faasrt server process, with its token:
//! timed requests that check their answer, and requests that must succeed.

use crate::peers::ServerProcess;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One request: how long it took and whether it answered right.
pub struct Outcome {
    /// From sending to the whole answer.
    pub took: Duration,
    /// `Err` with the status and body of a wrong answer.
    pub result: Result<(), String>,
}

/// An HTTP client of one server, with its token.
pub struct HttpClient {
    addr: SocketAddr,
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// A client of `server` that sends `token`.
    pub fn new(server: &ServerProcess, token: &str) -> Self {
        HttpClient {
            addr: server.addr,
            token: token.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one request; right when it answers 2xx (with `expected` as
    /// its body, when given).
    pub async fn timed(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        expected: Option<String>,
    ) -> Outcome {
        let started = Instant::now();
        let result = self
            .send(method, path, body)
            .await
            .and_then(|(status, text)| {
                let right_body = expected.as_ref().is_none_or(|e| *e == text);
                if status.is_success() && right_body {
                    Ok(())
                } else {
                    Err(format!("{status}: {text}"))
                }
            });
        Outcome {
            took: started.elapsed(),
            result,
        }
    }

    /// Sends one request that must succeed.
    pub async fn must(&self, method: Method, path: &str, body: Bytes) -> anyhow::Result<()> {
        let (status, text) = self
            .send(method, path, body)
            .await
            .map_err(anyhow::Error::msg)?;
        anyhow::ensure!(status.is_success(), "{path}: {status}: {text}");
        Ok(())
    }

    /// Sends one request; its status and body as text.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, String), String> {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("authorization", format!("Bearer {}", self.token))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}
