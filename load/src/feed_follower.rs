//! Following one of a faasrt server's JSON-lines feeds during a run (the
//! journal, the platform series), on a thread of its own, handing each line
//! to a collector until the run is over.

use crate::inject::HttpTarget;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What takes a feed's lines.
pub trait Collector: Default + Send + 'static {
    /// One line of the feed, without its newline.
    fn take_line(&mut self, line: &[u8]);
}

/// What a follower collected, and why following failed if it did (an
/// older server without the feed answers 404).
#[derive(Debug, Default)]
pub struct Collected<T> {
    /// What the collector made of the lines.
    pub collected: T,
    /// Why following failed or broke off.
    pub error: Option<String>,
}

/// A follower of one feed.
pub struct FeedFollower<T> {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Collected<T>>,
}

impl<T: Collector> FeedFollower<T> {
    /// Starts following `path` (a GET route that answers JSON lines) of
    /// `target`.
    pub fn start(target: &HttpTarget, path: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (target, flag, path) = (target.clone(), stop.clone(), path.to_owned());
        let thread =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(io) => io.block_on(follow(target, path, flag)),
                    Err(error) => Collected {
                        collected: T::default(),
                        error: Some(error.to_string()),
                    },
                }
            });
        FeedFollower { stop, thread }
    }

    /// Waits `drain` for the lines still in flight, then stops and returns
    /// what was collected.
    pub fn finish(self, drain: Duration) -> Collected<T> {
        std::thread::sleep(drain);
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| Collected {
            collected: T::default(),
            error: Some("the feed's follower panicked".into()),
        })
    }
}

async fn follow<T: Collector>(
    target: HttpTarget,
    path: String,
    stop: Arc<AtomicBool>,
) -> Collected<T> {
    let mut done = Collected {
        collected: T::default(),
        error: None,
    };
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::get(format!("http://{}{path}", target.addr));
    if let Some(token) = &target.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = match request.body(Empty::new()) {
        Ok(request) => client.request(request).await,
        Err(error) => {
            done.error = Some(error.to_string());
            return done;
        }
    };
    let route = path.split('?').next().unwrap_or(&path).to_owned();
    let mut body = match response {
        Ok(response) if response.status().is_success() => response.into_body(),
        Ok(response) => {
            done.error = Some(format!("GET {route} answered {}", response.status()));
            return done;
        }
        Err(error) => {
            done.error = Some(format!("cannot follow {route}: {error}"));
            return done;
        }
    };
    let mut pending = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let frame = match tokio::time::timeout(Duration::from_millis(50), body.frame()).await {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                done.error = Some(format!("the feed of {route} broke: {error}"));
                break;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            done.collected.take_line(&pending[..end]);
            pending.drain(..=end);
        }
    }
    done
}
