//! The server's test helpers: a real server in-process on a free port; the
//! fixtures and the raw HTTP client come from faasrt-testkit.

pub use faasrt_testkit::http::Http;
pub use faasrt_testkit::*;

/// How often a test server samples its platform: often, so tests need not
/// wait long for a sample.
pub const SAMPLE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

use faasrt_runtime::{Runtime, RuntimeConfig};
use faasrt_server::{Server, ServerConfig, Token};
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;

/// The largest body the test servers accept.
pub const TEST_MAX_BODY: usize = 8 << 20;

/// The pre-initialization time limit of test servers, in milliseconds.
pub const TEST_MAX_PREINIT_MS: u64 = 120_000;

/// `function` (a JSON object from `GET /v1/functions[/{name}]`) without
/// `resident_bytes`, which changes as pages come and go: what was stored.
pub fn stored_fields(function: &serde_json::Value) -> serde_json::Value {
    let mut stored = function.clone();
    if let Some(object) = stored.as_object_mut() {
        object.remove("resident_bytes");
    }
    stored
}

/// A `faasrt` server running in-process on its own threads.
pub struct TestServer {
    pub addr: SocketAddr,
    pub token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The data directory the server made for itself ([`TestServer::fresh`]),
    /// removed once the server has stopped.
    own_data_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a data directory of its own, removed when the
    /// server is dropped: for tests that do not restart it.
    pub fn fresh() -> Self {
        Self::fresh_with(|config| config, false)
    }

    /// [`TestServer::fresh`] with a customized runtime configuration, and
    /// every call authenticated when `auth_all`.
    pub fn fresh_with(
        configure: impl FnOnce(RuntimeConfig) -> RuntimeConfig,
        auth_all: bool,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self::start_with(dir.path(), configure, auth_all);
        server.own_data_dir = Some(dir);
        server
    }

    /// [`TestServer::fresh`] exporting its invocations as OTLP spans to
    /// `endpoint`.
    pub fn fresh_exporting(endpoint: faasrt_server::OtlpEndpoint) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self::start_full(dir.path(), |config| config, false, Some(endpoint));
        server.own_data_dir = Some(dir);
        server
    }

    /// Starts a server on `data_dir`, listening on a free loopback port.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, |config| config, false)
    }

    /// Starts a server with a customized runtime configuration.
    pub fn start_with(
        data_dir: &Path,
        configure: impl FnOnce(RuntimeConfig) -> RuntimeConfig,
        auth_all: bool,
    ) -> Self {
        Self::start_full(data_dir, configure, auth_all, None)
    }

    fn start_full(
        data_dir: &Path,
        configure: impl FnOnce(RuntimeConfig) -> RuntimeConfig,
        auth_all: bool,
        otlp_endpoint: Option<faasrt_server::OtlpEndpoint>,
    ) -> Self {
        let config = configure(
            RuntimeConfig::new(data_dir)
                .max_instances(100)
                .max_module_bytes(TEST_MAX_BODY)
                .max_input_bytes(TEST_MAX_BODY)
                // The Go examples' pre-initialization takes seconds in a
                // debug build, and more beside the other tests on two
                // cores: a wall-clock limit must not decide these tests
                // (the one that tests the limit sets its own).
                .max_preinit_ms(TEST_MAX_PREINIT_MS),
        );
        let runtime = Runtime::open(config).expect("runtime opens");
        let token = runtime
            .data_dir()
            .expect("data dir")
            .token()
            .expect("token");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let server_token = token.clone();
        let thread = std::thread::spawn(move || {
            let io = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio");
            io.block_on(async move {
                let config = ServerConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    auth_all,
                    max_body_bytes: TEST_MAX_BODY,
                    source_dir: None,
                    sample_interval: Some(SAMPLE_INTERVAL),
                    otlp_endpoint,
                };
                let server = Server::bind(runtime, Token::new(server_token), config)
                    .await
                    .expect("bind");
                addr_tx
                    .send(server.local_addr().expect("addr"))
                    .expect("send addr");
                server
                    .run(async {
                        let _ = shutdown_rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv().expect("server started");
        TestServer {
            addr,
            token,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            own_data_dir: None,
        }
    }

    /// Stops the server and waits until its store is closed.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }

    /// A client bound to this server.
    pub fn http(&self) -> Http {
        Http::new(self.addr, Some(self.token.clone()))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Reads from `socket` into `seen` until `done` says so, within a minute.
pub async fn read_until(
    socket: &mut tokio::net::TcpStream,
    seen: &mut Vec<u8>,
    done: impl Fn(&str) -> bool,
) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    while !done(&String::from_utf8_lossy(seen)) {
        let left = std::time::Duration::from_secs(60).saturating_sub(started.elapsed());
        let mut buffer = [0u8; 4096];
        let read = tokio::time::timeout(left, socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("timed out; so far: {:?}", String::from_utf8_lossy(seen)))
            .expect("read");
        if read == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..read]);
    }
}
