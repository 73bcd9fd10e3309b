//! Where a sweep finds the server's record of each invocation it sent:
//! after each cell (whose invocations are all answered, and a server
//! journals an invocation before it answers it), the records of the
//! cell's function since the last seen, from a server's
//! `GET /v1/invocations` or from the in-process runtime's journal.

use crate::inject::HttpTarget;
use crate::server_journal::ServerRecord;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;

/// Records a journal of the last cell holds at most (the server keeps
/// 10 000).
const LIMIT: usize = 10_000;

/// A journal to join rows with.
pub enum JournalSource {
    /// None: rows carry no server record.
    None,
    /// A faasrt server's.
    Http {
        /// The server.
        target: HttpTarget,
        /// Its client.
        client: Client<HttpConnector, Empty<Bytes>>,
        /// The last `seq` seen.
        since: u64,
        /// The first failure, kept to report once.
        error: Option<String>,
    },
    /// The in-process runtime's.
    InProcess {
        /// The runtime.
        runtime: faasrt_runtime::Runtime,
        /// The last `seq` seen.
        since: u64,
    },
}

impl JournalSource {
    /// A server's journal, from its current end on.
    pub fn http(target: HttpTarget) -> JournalSource {
        JournalSource::Http {
            target,
            client: Client::builder(TokioExecutor::new()).build_http(),
            since: 0,
            error: None,
        }
    }

    /// The in-process runtime's journal.
    pub fn in_process(runtime: faasrt_runtime::Runtime) -> JournalSource {
        JournalSource::InProcess { runtime, since: 0 }
    }

    /// Why the server's journal could not be read, if it could not.
    pub fn error(&self) -> Option<&str> {
        match self {
            JournalSource::Http { error, .. } => error.as_deref(),
            _ => None,
        }
    }

    /// The records of `function` since the last call, by trace id.
    pub async fn records(&mut self, function: &str) -> HashMap<String, ServerRecord> {
        match self {
            JournalSource::None => HashMap::new(),
            JournalSource::InProcess { runtime, since } => {
                let records = runtime.invocations(Some(function), *since, LIMIT);
                let mut by_trace = HashMap::new();
                for record in records {
                    *since = (*since).max(record.seq);
                    if let Some(trace) = &record.trace {
                        by_trace.insert(
                            trace.trace_id_hex(),
                            ServerRecord {
                                seq: record.seq,
                                start_kind: record.start_kind.to_owned(),
                                arrival_ns: record.arrival_ns,
                                dequeue_ns: record.dequeue_ns,
                                start_ns: record.start_ns,
                                ready_ns: record.ready_ns,
                                end_ns: record.end_ns,
                                reply_ns: record.reply_ns,
                                outcome: record.outcome.to_owned(),
                                cpu_ns: record.cpu_ns,
                                peak_memory_bytes: record.peak_memory_bytes,
                                cycles: record.cycles,
                                instructions: record.instructions,
                                llc_misses: record.llc_misses,
                                trace: Some(trace.trace_id_hex()),
                            },
                        );
                    }
                }
                by_trace
            }
            JournalSource::Http {
                target,
                client,
                since,
                error,
            } => match fetch(target, client, function, *since).await {
                Ok(records) => {
                    let mut by_trace = HashMap::new();
                    for record in records {
                        *since = (*since).max(record.seq);
                        if let Some(trace) = record.trace.clone() {
                            by_trace.insert(trace, record);
                        }
                    }
                    by_trace
                }
                Err(e) => {
                    error.get_or_insert(e);
                    HashMap::new()
                }
            },
        }
    }
}

/// `GET /v1/invocations?function=F&since=S&limit=N`'s records.
async fn fetch(
    target: &HttpTarget,
    client: &Client<HttpConnector, Empty<Bytes>>,
    function: &str,
    since: u64,
) -> Result<Vec<ServerRecord>, String> {
    #[derive(serde::Deserialize)]
    struct Page {
        invocations: Vec<ServerRecord>,
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("function", function)
        .append_pair("since", &since.to_string())
        .append_pair("limit", &LIMIT.to_string())
        .finish();
    let mut request = hyper::Request::get(format!("http://{}/v1/invocations?{query}", target.addr));
    if let Some(token) = &target.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("GET /v1/invocations: {e:#}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "GET /v1/invocations: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    serde_json::from_slice::<Page>(&body)
        .map(|page| page.invocations)
        .map_err(|e| format!("GET /v1/invocations: {e}"))
}
