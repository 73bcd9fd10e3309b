//! A raw HTTP/1 client of one faasrt server, for tests that check the API
//! byte for byte (status, headers, JSON bodies) rather than through the
//! CLI's typed client.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;

/// An answer: status, headers, body.
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error.code` of a JSON error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A raw HTTP client of one server; `token` is sent when present.
#[derive(Clone)]
pub struct Http {
    addr: SocketAddr,
    token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    /// A client of the server at `addr`, sending `token` when given.
    pub fn new(addr: SocketAddr, token: Option<String>) -> Self {
        Http {
            addr,
            token,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The same client without a token.
    pub fn anonymous(&self) -> Self {
        Http {
            token: None,
            ..self.clone()
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Http {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&self, method: Method, path: &str, body: impl Into<Bytes>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .client
            .request(request.body(Full::new(body.into())).expect("request"))
            .await
            .expect("server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Bytes::new()).await
    }

    /// `PUT /v1/functions/{name}` with `wasm`.
    pub async fn deploy(&self, name: &str, wasm: impl Into<Bytes>) -> Reply {
        self.send(Method::PUT, &format!("/v1/functions/{name}"), wasm)
            .await
    }

    /// `PUT /v1/functions/{name}?{query}` (no `?` for an empty query).
    pub async fn deploy_with(&self, name: &str, query: &str, body: impl Into<Bytes>) -> Reply {
        let separator = if query.is_empty() { "" } else { "?" };
        self.send(
            Method::PUT,
            &format!("/v1/functions/{name}{separator}{query}"),
            body,
        )
        .await
    }

    /// `POST /v1/functions/{name}/invoke?{query}` with `input`.
    pub async fn invoke(&self, name: &str, query: &str, input: impl Into<Bytes>) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/functions/{name}/invoke{query}"),
            input,
        )
        .await
    }

    /// `DELETE /v1/functions/{name}`.
    pub async fn delete(&self, name: &str) -> Reply {
        self.send(
            Method::DELETE,
            &format!("/v1/functions/{name}"),
            Bytes::new(),
        )
        .await
    }
}

impl Http {
    /// `DELETE path`.
    pub async fn delete_path(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Bytes::new()).await
    }
}
