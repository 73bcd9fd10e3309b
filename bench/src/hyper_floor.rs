//! `hyper-floor`: the cheapest server that gives the load generator the
//! same answer `faasrt serve` gives for an invocation of `hello`, so that
//! the HTTP rows of `faasrt-bench invoke` can say how far above the floor
//! of hyper and loopback TCP they are.
//!
//! It takes the request faasrt takes (`POST /v1/functions/hello/invoke`),
//! reads the body and drops it, and answers what faasrt answers: status
//! 200, `Content-Type: application/octet-stream`, faasrt's exit-code and
//! duration headers, and `Hello, world!\n`, with no guest behind it. It
//! serves each connection as faasrt's server does (hyper 1 HTTP/1, no
//! Nagle, one task per connection).
//!
//! `faasrt serve` runs as a separate process; the floor cannot, so it runs
//! in the bench process on its own multi-thread tokio runtime, apart from
//! the load generator's, with the worker count that faasrt's runtime gets
//! by tokio's default (see [`faasrt_serve_worker_threads`]).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// The path the floor answers; the one the bench invokes `hello` on.
pub const INVOKE_PATH: &str = "/v1/functions/hello/invoke";

/// What `hello` writes, and so what faasrt's invoke route answers.
const HELLO_OUTPUT: &[u8] = b"Hello, world!\n";

/// faasrt's headers on a successful invocation (`server/src/wire.rs`),
/// with the values a fast `hello` gets, so the answer is as long on the wire.
const FAASRT_HEADERS: [(&str, &str); 2] =
    [("x-faasrt-exit-code", "0"), ("x-faasrt-duration-us", "10")];

/// How long dropping the server waits for its threads to stop.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(1);

/// The number of worker threads `faasrt serve`'s API runtime has: it builds
/// a multi-thread tokio runtime without setting a count, so tokio takes
/// `$TOKIO_WORKER_THREADS` (which the faasrt child inherits from the bench)
/// or else the CPUs available.
pub fn faasrt_serve_worker_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The floor server, listening on loopback until dropped.
pub struct FloorServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<Runtime>,
}

impl FloorServer {
    /// Starts the server on a free loopback port, on a new runtime with
    /// `worker_threads` workers.
    ///
    /// # Errors
    /// The runtime cannot be built or the port cannot be bound.
    pub fn start(worker_threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .thread_name("hyper-floor")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            0,
        ))))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        runtime.spawn(accept_until(listener, stopped));
        Ok(FloorServer {
            addr,
            stop: Some(stop),
            runtime: Some(runtime),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The accept loop may be gone already; then there is no one to tell.
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(SHUTDOWN_PATIENCE);
        }
    }
}

/// Accepts connections and serves each on its own task, as faasrt's
/// `Server::run` does, until `stopped` fires.
async fn accept_until(listener: TcpListener, mut stopped: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, say: keep serving those we have.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        // As in faasrt: small answers leave at once, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service_fn(answer));
        tokio::spawn(async move {
            // A client that hangs up mid-request ends only its connection.
            let _ = connection.await;
        });
    }
}

/// faasrt's answer to an invocation of `hello`, for the request faasrt
/// takes; 404 for anything else, so a wrong load spec fails the run.
async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST || request.uri().path() != INVOKE_PATH {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    }
    // Read the input as faasrt does before invoking, then drop it.
    if request.into_body().collect().await.is_err() {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(response);
    }
    let mut response = Response::new(Full::new(Bytes::from_static(HELLO_OUTPUT)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    for (name, value) in FAASRT_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Sends `request` on a fresh connection and returns the whole answer.
    fn exchange(addr: SocketAddr, request: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the floor");
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read the answer");
        answer
    }

    #[test]
    fn invoke_request_gets_hello_as_faasrt_answers_it() {
        let server = FloorServer::start(2).expect("start the floor");
        let answer = exchange(
            server.addr(),
            &format!(
                "POST {INVOKE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\ninput"
            ),
        );
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/octet-stream\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\ncontent-length: 14\r\n"), "{head}");
        assert_eq!(body, "Hello, world!\n");
    }

    #[test]
    fn other_paths_are_not_found() {
        let server = FloorServer::start(1).expect("start the floor");
        let answer = exchange(
            server.addr(),
            "POST /v1/functions/other/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    }
}
