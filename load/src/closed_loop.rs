//! The closed-loop injector: a fixed number of clients, each sending its
//! next invocation as soon as the last one answered, for a fixed time. It
//! measures the most a server sustains, not its latency at a given rate
//! (a closed loop slows down with its target; use a schedule for that).

use crate::inject::{
    HttpSender, HttpTarget, InjectOptions, Invoker, Request, Run, nanos_since, process_cpu,
};
use crate::record::Record;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a closed-loop run sends.
#[derive(Clone, Debug)]
pub struct ClosedLoop {
    /// The functions, taken in turn by each client.
    pub functions: Vec<String>,
    /// Clients, each with one invocation in flight.
    pub clients: usize,
    /// How long the clients keep sending.
    pub duration: Duration,
    /// The input of every invocation.
    pub input: Bytes,
}

/// Runs `load` against `target`. Each record's scheduled time is its send
/// time: there is no schedule to fall behind, so the run never aborts.
///
/// # Errors
/// The async workers cannot be started.
pub fn run_closed_loop(
    load: &ClosedLoop,
    target: &HttpTarget,
    options: &InjectOptions,
) -> Result<Run, crate::InjectError> {
    let workers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers.max(1))
        .enable_all()
        .build()
        .map_err(crate::InjectError::Runtime)?;
    let functions: Vec<Arc<str>> = load
        .functions
        .iter()
        .map(|f| Arc::from(f.as_str()))
        .collect();
    let sender = {
        let _entered = workers.enter();
        Arc::new(HttpSender::new(target, &functions, options))
    };
    let invoker = Invoker {
        timeout: options.request_timeout,
        progress: options.progress.clone(),
        run_id: options.run_id,
    };
    let cpu_before = process_cpu();
    let start = Instant::now();
    let deadline = start + load.duration;
    let clients: Vec<_> = (0..load.clients.max(1))
        .map(|client| {
            let (sender, invoker, functions, input) = (
                sender.clone(),
                invoker.clone(),
                functions.clone(),
                load.input.clone(),
            );
            workers.spawn(async move {
                let mut records = Vec::new();
                let mut turn = client;
                while Instant::now() < deadline {
                    let which = turn % functions.len();
                    turn += 1;
                    // Unique per client and turn, so that each trace id
                    // is; the records are numbered afresh at the end.
                    let request = Request {
                        index: ((client as u64) << 40) | turn as u64,
                        function: which,
                        trace_function: functions[which].clone(),
                        deployed: functions[which].clone(),
                        input: input.clone(),
                        scheduled_ns: nanos_since(start),
                    };
                    records.push(invoker.invoke(&*sender, request, start).await);
                }
                records
            })
        })
        .collect();
    let mut records: Vec<Record> = workers.block_on(async {
        let mut all = Vec::new();
        for client in clients {
            all.extend(client.await.unwrap_or_default());
        }
        all
    });
    let wall = start.elapsed();
    records.sort_by_key(|r| r.sent_ns);
    for (index, record) in records.iter_mut().enumerate() {
        record.index = index as u64;
    }
    Ok(Run {
        records,
        aborted: None,
        warning: None,
        wall,
        sender_cpu: Duration::ZERO,
        process_cpu: process_cpu().saturating_sub(cpu_before),
    })
}
