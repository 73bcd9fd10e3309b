//! Shared helpers: a real server on a free port, raw HTTP, wasm fixtures.

use bytes::Bytes;
use faasrt_runtime::server::{Server, ServerConfig, Token};
use faasrt_runtime::{Runtime, RuntimeConfig};
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;

/// The largest body the test servers accept.
pub const TEST_MAX_BODY: usize = 8 << 20;

/// A `faasrt` server running in-process on its own threads.
/// The pre-initialization time limit of test servers, in milliseconds.
pub const TEST_MAX_PREINIT_MS: u64 = 120_000;

pub struct TestServer {
    pub addr: SocketAddr,
    pub token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
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

/// An answer: status, headers, body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
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

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Bytes::new()).await
    }

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

    pub async fn invoke(&self, name: &str, query: &str, input: impl Into<Bytes>) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/functions/{name}/invoke{query}"),
            input,
        )
        .await
    }

    pub async fn delete(&self, name: &str) -> Reply {
        self.send(
            Method::DELETE,
            &format!("/v1/functions/{name}"),
            Bytes::new(),
        )
        .await
    }
}

/// The wasm bytes of an example function.
pub fn example(name: &str) -> &'static [u8] {
    faasrt_example_artifacts::get(name)
        .unwrap_or_else(|| panic!("example {name} is built"))
        .wasm
}

/// Compiles WebAssembly text into module bytes.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("fixture is valid WAT")
}

/// A module that counts its runs in a mutable global and in linear memory,
/// and prints the count: a fresh instance always prints "1".
pub fn counter_module() -> Vec<u8> {
    wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (global $runs (mut i32) (i32.const 0))
        (data (i32.const 16) "0")
        (func (export "_start")
            (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
            (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (global.get $runs)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#)
}

/// A module that writes `message` to its log (fd 2) and exits with `code`.
pub fn exit_module(code: i32, message: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "{message}")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $exit (i32.const {code}))))"#,
        len = message.len()
    ))
}

/// A module whose `_start` traps at once.
pub fn trap_module() -> Vec<u8> {
    wat(r#"(module (func (export "_start") unreachable))"#)
}

/// A module whose `_start` never returns.
pub fn loop_module() -> Vec<u8> {
    wat(r#"(module (func (export "_start") (loop $l (br $l))))"#)
}

/// A module that writes to faasout forever.
pub fn flood_module() -> Vec<u8> {
    flood_module_on(1)
}

/// A module that writes 60000 bytes at a time to descriptor `fd` forever.
pub fn flood_module_on(fd: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.const 60000))
            (loop $l
                (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l))))"#
    ))
}

/// A module that sleeps `ms` milliseconds (WASI `poll_oneoff` on a relative
/// clock) and then prints `text`.
pub fn sleepy_module(ms: u64, text: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 512) "{text}")
        (func (export "_start")
            ;; subscription at 0: userdata 0, tag 0 (clock), clock id 1
            ;; (monotonic), timeout in ns, precision 0, flags 0 (relative)
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const {ns}))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
            (i32.store (i32.const 256) (i32.const 512))
            (i32.store (i32.const 260) (i32.const {len}))
            (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))"#,
        ns = ms * 1_000_000,
        len = text.len()
    ))
}

/// A module that exits with the number of environment variables it sees,
/// plus 100 if fd 3 is a preopened directory: a confined guest exits 0.
pub fn environment_probe_module() -> Vec<u8> {
    wat(r#"(module
        (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (local $code i32)
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (local.set $code (i32.load (i32.const 0)))
            (if (i32.eqz (call $prestat (i32.const 3) (i32.const 16)))
                (then (local.set $code (i32.add (local.get $code) (i32.const 100)))))
            (call $exit (local.get $code))))"#)
}

/// WAT for a function that prints the byte at memory[16] after adding 1 to
/// it; `init` is spliced in as extra module fields (an init export, say).
pub fn byte_printer(init: &str, entry: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "0")
        (func $bump_and_print
            (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
        {entry}
        {init})"#
    ))
}

/// A command whose pre-init runs `body` (WAT instructions, with `$fd_write`
/// and the imports below in scope).
pub fn preinit_module(body: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start"))
        (func (export "wizer-initialize") {body}))"#
    ))
}

impl Http {
    /// `DELETE path`.
    pub async fn delete_path(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Bytes::new()).await
    }
}
