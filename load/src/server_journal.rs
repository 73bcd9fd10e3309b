//! Following a faasrt server's invocation journal during a run
//! (`GET /v1/invocations?follow=true`), so that each invocation's record
//! carries the server's own view of it, joined by the trace id the
//! injector sent: when it arrived, when it started and ended on the
//! server's clock, how its instance started and how it ended.

use crate::inject::HttpTarget;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// One invocation as the server's journal recorded it (the fields of
/// `GET /v1/invocations` that a run keeps).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ServerRecord {
    /// Its place in the server's journal.
    pub seq: u64,
    /// How its instance started (`snapshot`, `instance`, `fork-exec`).
    pub start_kind: String,
    /// When it reached the runtime, ns on the server's clock.
    pub arrival_ns: u64,
    /// When it began to run.
    pub start_ns: u64,
    /// When its instance or process was ready (a server before the field
    /// existed: 0).
    #[serde(default)]
    pub ready_ns: u64,
    /// When it ended.
    pub end_ns: u64,
    /// How it ended.
    pub outcome: String,
    /// Its CPU time, ns, when the server measured it.
    #[serde(default)]
    pub cpu_ns: Option<u64>,
    /// The most memory it held, bytes, when the server measured it.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// The trace id the injector sent.
    #[serde(default)]
    pub trace: Option<String>,
}

/// What a follower collected.
#[derive(Debug, Default)]
pub struct Followed {
    /// Records by trace id.
    pub by_trace: HashMap<String, ServerRecord>,
    /// Records the server dropped for this follower (it fell behind).
    pub lost: u64,
    /// Why following failed, if it did (an older server without the
    /// journal answers 404).
    pub error: Option<String>,
}

/// A follower of one server's journal, on a thread of its own.
pub struct JournalFollower {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Followed>,
}

impl JournalFollower {
    /// Starts following `target`'s journal.
    pub fn start(target: &HttpTarget) -> JournalFollower {
        let stop = Arc::new(AtomicBool::new(false));
        let (target, flag) = (target.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let io = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(io) => io,
                Err(error) => {
                    return Followed {
                        error: Some(error.to_string()),
                        ..Followed::default()
                    };
                }
            };
            io.block_on(follow(target, flag))
        });
        JournalFollower { stop, thread }
    }

    /// Waits `drain` for the records of the last answers (the server
    /// writes an invocation's record before its answer, so little is in
    /// flight), then stops and returns what it collected.
    pub fn finish(self, drain: Duration) -> Followed {
        std::thread::sleep(drain);
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| Followed {
            error: Some("the journal follower panicked".into()),
            ..Followed::default()
        })
    }
}

async fn follow(target: HttpTarget, stop: Arc<AtomicBool>) -> Followed {
    let mut followed = Followed::default();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    // From the start of the journal's ring: records of earlier runs carry
    // other trace ids (or none) and join nothing.
    let mut request =
        hyper::Request::get(format!("http://{}/v1/invocations?follow=true", target.addr));
    if let Some(token) = &target.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = match request.body(Empty::new()) {
        Ok(request) => client.request(request).await,
        Err(error) => {
            followed.error = Some(error.to_string());
            return followed;
        }
    };
    let mut body = match response {
        Ok(response) if response.status().is_success() => response.into_body(),
        Ok(response) => {
            followed.error = Some(format!(
                "GET /v1/invocations answered {}",
                response.status()
            ));
            return followed;
        }
        Err(error) => {
            followed.error = Some(format!("cannot follow the journal: {error}"));
            return followed;
        }
    };
    let mut pending = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let frame = match tokio::time::timeout(Duration::from_millis(50), body.frame()).await {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                followed.error = Some(format!("the journal feed broke: {error}"));
                break;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            take_line(&line, &mut followed);
        }
    }
    followed
}

/// One line of the feed: a record, or a count of records lost.
fn take_line(line: &[u8], followed: &mut Followed) {
    #[derive(Deserialize)]
    struct Lost {
        lost: u64,
    }
    if let Ok(lost) = serde_json::from_slice::<Lost>(line) {
        followed.lost += lost.lost;
    } else if let Ok(record) = serde_json::from_slice::<ServerRecord>(line)
        && let Some(trace) = record.trace.clone()
    {
        followed.by_trace.insert(trace, record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_records_or_losses() {
        let mut followed = Followed::default();
        take_line(br#"{"lost":3}"#, &mut followed);
        take_line(
            br#"{"seq":7,"function":"f","kind":"wasm","start_kind":"snapshot","arrival_ns":1,"start_ns":2,"end_ns":5,"outcome":"ok","exit_code":0,"input_bytes":0,"output_bytes":0,"trace":"ab"}"#,
            &mut followed,
        );
        // A record without a trace cannot be joined and is not kept.
        take_line(
            br#"{"seq":8,"function":"f","kind":"wasm","start_kind":"snapshot","arrival_ns":1,"start_ns":2,"end_ns":5,"outcome":"ok","exit_code":0,"input_bytes":0,"output_bytes":0}"#,
            &mut followed,
        );
        assert_eq!(followed.lost, 3);
        assert_eq!(followed.by_trace.len(), 1);
        assert_eq!(followed.by_trace["ab"].end_ns, 5);
    }
}
