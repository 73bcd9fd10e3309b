//! A closed-loop HTTP load generator: `connections` keep-alive connections,
//! each sending its next request as soon as the previous answer arrived,
//! for a fixed time after a warm-up.

use crate::stats::Samples;
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// One load run's settings.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// Request path (and query).
    pub path: String,
    /// The body of every request.
    pub body: Bytes,
    /// The body every answer must carry, to catch a server that answers
    /// fast but wrong.
    pub expected_body: Bytes,
    /// Concurrent connections.
    pub connections: usize,
    /// Time before measuring starts.
    pub warmup: Duration,
    /// Time measured.
    pub duration: Duration,
}

/// What a load run measured.
pub struct LoadResult {
    /// Latency of each measured request.
    pub samples: Samples,
    /// Requests completed in the measured time, per second.
    pub requests_per_second: f64,
}

/// Runs the load described by `spec` on the current tokio runtime.
///
/// # Errors
/// A connection cannot be opened, a request fails, or an answer is not the
/// expected body with status 200.
pub async fn run(spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let mut tasks = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            connection(spec, measure_from, end).await
        }));
    }
    let mut samples = Samples::new();
    for task in tasks {
        samples.merge(&task.await.context("load task panicked")??);
    }
    let requests_per_second = samples.len() as f64 / spec.duration.as_secs_f64();
    Ok(LoadResult {
        samples,
        requests_per_second,
    })
}

async fn connection(
    spec: LoadSpec,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<Samples> {
    let stream = TcpStream::connect(spec.addr)
        .await
        .with_context(|| format!("connecting to {}", spec.addr))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut samples = Samples::new();
    let authority = spec.addr.to_string();
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri(&spec.path)
            .header(hyper::header::HOST, &authority)
            .body(Full::new(spec.body.clone()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let latency = sent.elapsed();
        if status != hyper::StatusCode::OK || body != spec.expected_body {
            bail!(
                "unexpected answer {status}: {:?}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            );
        }
        if sent >= measure_from {
            samples.record(latency);
        }
    }
    Ok(samples)
}
