//! faasrt-server: the HTTP face of faasrt. `/v1` (functions, invoke,
//! pipelines, streams), `/metrics` and `/healthz`, over hyper 1 on tokio.
//!
//! It only parses requests and formats answers; the work is done by
//! [`Runtime`] from `faasrt-runtime`, which knows nothing of HTTP. What
//! lives here: routing and handlers (`routes`, `pipelines`, `streams`,
//! `kv`), request
//! plumbing (`body`, `query`, `app`), the error answers (`api_error`), the
//! token (`auth`), the names on the wire (`wire`) and the export of
//! invocations as OpenTelemetry spans (`otlp`). What must not: any
//! behaviour of functions themselves, and anything of the command line.

mod api_error;
mod app;
mod auth;
mod body;
mod invocations;
mod kv;
mod logs;
mod ndjson_feed;
mod otlp;
mod pipelines;
mod platform;
mod query;
mod record_body;
mod routes;
mod stream_follow;
mod streams;
mod wire;

pub use api_error::ApiError;
pub use auth::Token;
pub use otlp::{OtlpEndpoint, OtlpEndpointError};
pub use wire::{
    DURATION_HEADER, EXIT_CODE_HEADER, EXIT_CODE_TRAILER, NEXT_OFFSET_HEADER, OUTPUT_END_HEADER,
    PIPESTATUS_TRAILER, STAGE_ERRORS_TRAILER, StageError,
};

use app::App;
use faasrt_runtime::Runtime;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How the server listens and authenticates.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Whether reads and invocations need the token too.
    pub auth_all: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where streams' file sources are read from; `None`: `sources` in
    /// the data directory.
    pub source_dir: Option<std::path::PathBuf>,
    /// How often the platform is sampled (`GET /v1/platform`); `None`: never.
    pub sample_interval: Option<std::time::Duration>,
    /// Where invocations are exported as OTLP spans; `None`: nowhere (no
    /// export task runs).
    pub otlp_endpoint: Option<OtlpEndpoint>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth_all: false,
            max_body_bytes: 64 << 20,
            source_dir: None,
            sample_interval: Some(std::time::Duration::from_secs(1)),
            otlp_endpoint: None,
        }
    }
}

/// A bound, not yet running, HTTP server.
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
    sample_interval: Option<std::time::Duration>,
    exporter: Option<otlp::Exporter>,
}

impl Server {
    /// Binds `config.listen` for `runtime`, with `token` guarding management
    /// calls, opens the runtime's streams and resumes those that were
    /// running. With `config.otlp_endpoint`, the exporter follows the
    /// journal from here on.
    ///
    /// # Errors
    /// The address cannot be bound (in use, no permission), or the streams'
    /// database cannot be opened.
    pub async fn bind(
        runtime: Runtime,
        token: Token,
        config: ServerConfig,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let sample_interval = config.sample_interval;
        let streams = faasrt_streams::Streams::open(runtime.clone())
            .map_err(|e| std::io::Error::other(format!("cannot open the streams: {e}")))?;
        let source_dir = config.source_dir.or_else(|| {
            runtime
                .data_dir()
                .map(|dir| dir.path().join(faasrt_streams::SOURCE_DIR))
        });
        if let Some(dir) = source_dir {
            create_private_dir(&dir)?;
            streams.set_source_dir(dir);
        }
        let resumed = streams.resume();
        if !resumed.is_empty() {
            tracing::info!(streams = ?resumed, "resumed running streams from their checkpoints");
        }
        let exporter = config
            .otlp_endpoint
            .map(|endpoint| otlp::Exporter::follow(&runtime, endpoint));
        let app = Arc::new(App {
            runtime,
            streams,
            token,
            auth_all: config.auth_all,
            max_body_bytes: config.max_body_bytes,
            otlp: exporter.as_ref().map(otlp::Exporter::metrics),
            closing: tokio::sync::watch::Sender::new(false),
        });
        Ok(Server {
            listener,
            app,
            sample_interval,
            exporter,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and waits for
    /// the connections in progress to finish their current request.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        if let Some(exporter) = self.exporter {
            tokio::spawn(exporter.run(self.app.closing.subscribe()));
        }
        if let Some(interval) = self.sample_interval {
            tokio::spawn(platform::sample_every(
                self.app.runtime.clone(),
                interval,
                self.app.closing.subscribe(),
            ));
        }
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of descriptors, say: keep serving those we have.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Small answers should leave at once, not wait for Nagle.
            let _ = stream.set_nodelay(true);
            let app = self.app.clone();
            let service = service_fn(move |request| {
                let app = app.clone();
                // Whatever ran on this thread before (wasmtime's
                // protection-key striping allows every key when a guest
                // returns) leaves the token's pages denied again.
                faasrt_isolation::reassert_secret_denials();
                async move { Ok::<_, std::convert::Infallible>(routes::handle(&app, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }
        self.app.closing.send_replace(true);
        graceful.shutdown().await;
    }
}

/// Creates `dir` (and its parents) with mode 0700 if it is missing.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create the source directory {}: {e}", dir.display()),
            )
        })
}
