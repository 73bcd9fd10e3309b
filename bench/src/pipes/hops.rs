//! The latency cases of `faasrt-bench pipes` that need no broker: round
//! trips of a 1 KiB message through one native `cat` over OS pipes (the
//! baseline), through faasrt pipelines of wasm `cat`s, and through an HTTP
//! invocation of `cat` on `faasrt serve`. Also `round_trips`, the timing
//! loop the broker cases share.

use super::chains::spawn_cats;
use super::{MESSAGE, block};
use crate::load::{self, LoadSpec};
use crate::peers;
use crate::stats::Samples;
use anyhow::{Context, bail};
use faasrt_host_api::{ReadOutcome, pipe};
use faasrt_runtime::Runtime;
use faasrt_runtime::pipeline::PipelineSpec;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The lengths of the wasm pipelines whose hop is measured.
pub(super) const WASM_STAGES: [usize; 2] = [1, 4];

/// The round-trip latencies of every hop case, measured in the same run.
pub(super) struct HopLatencies {
    /// Through one native `cat` over OS pipes (two pipe hops a round trip).
    pub(super) os_pipe: Samples,
    /// Through each pipeline of `WASM_STAGES` wasm `cat`s, or why it failed.
    pub(super) wasm: [anyhow::Result<Samples>; 2],
    /// Through one HTTP invocation of `cat`.
    pub(super) http: Samples,
    /// Through Redis, where its server is installed.
    pub(super) redis: Option<Samples>,
    /// Through NATS, where its server is installed.
    pub(super) nats: Option<Samples>,
}

/// Round trips of a 1 KiB message through `stages` wasm `cat`s (from the
/// bench into the first pipe, out of the last one).
pub(super) async fn wasm_hop(
    runtime: &Runtime,
    stages: usize,
    messages: u64,
) -> anyhow::Result<Samples> {
    let spec = PipelineSpec::parse(&vec!["cat"; stages].join(" | "))?;
    let prepared = runtime.prepare_pipeline(&spec)?;
    let (writer, input) = pipe(64 << 10);
    let (output, reader) = pipe(64 << 10);
    let message = block(MESSAGE);
    let driver = async move {
        let mut samples = Samples::new();
        for i in 0..messages + messages / 10 {
            let sent = Instant::now();
            writer
                .write_all(message.clone())
                .await
                .map_err(|_| anyhow::anyhow!("broken pipe"))?;
            let mut received = 0;
            while received < MESSAGE {
                match reader.read(MESSAGE - received).await {
                    ReadOutcome::Data(bytes) => received += bytes.len(),
                    ReadOutcome::Eof => bail!("the chain ended early"),
                }
            }
            // The first tenth warms up.
            if i >= messages / 10 {
                samples.record(sent.elapsed());
            }
        }
        drop(writer);
        anyhow::Ok(samples)
    };
    let (samples, _) = tokio::join!(driver, prepared.run(input, output));
    samples
}

/// Times `messages` calls of `round_trip`, after a tenth as many more to
/// warm up.
pub(crate) fn round_trips(
    messages: u64,
    mut round_trip: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::new();
    for i in 0..messages + messages / 10 {
        let sent = Instant::now();
        round_trip()?;
        if i >= messages / 10 {
            samples.record(sent.elapsed());
        }
    }
    Ok(samples)
}

/// Round trips of a 1 KiB message through one native `cat` over OS pipes.
pub(super) fn os_pipe_hop(cat: &Path, messages: u64) -> anyhow::Result<Samples> {
    let mut children = spawn_cats(cat, 1, MESSAGE)?;
    let mut input = children[0].stdin.take().context("stdin")?;
    let mut output = children[0].stdout.take().context("stdout")?;
    let message = block(MESSAGE);
    let mut buffer = [0u8; MESSAGE];
    let samples = round_trips(messages, || {
        input.write_all(&message)?;
        output.read_exact(&mut buffer)?;
        Ok(())
    })?;
    drop(input);
    children[0].wait()?;
    Ok(samples)
}

/// Round trips of a 1 KiB message through an HTTP invocation of `cat` on
/// a `faasrt serve` started for it (on `faasrt`, or the binary next to
/// this one) with a scratch data directory.
pub(super) fn http_hop(
    faasrt: Option<&Path>,
    io: &tokio::runtime::Runtime,
    messages: u64,
) -> anyhow::Result<Samples> {
    let scratch = tempfile::tempdir()?;
    let server = peers::start_faasrt(&peers::faasrt_binary(faasrt)?, scratch.path())?;
    io.block_on(invoke_cat(server.addr, messages))
}

/// Round trips of a 1 KiB message through HTTP invocations of `cat` at
/// `addr`: what one function calling the next over HTTP costs.
async fn invoke_cat(addr: SocketAddr, messages: u64) -> anyhow::Result<Samples> {
    let spec = LoadSpec {
        addr,
        path: "/v1/functions/cat/invoke".into(),
        body: block(MESSAGE),
        expected_body: block(MESSAGE),
        connections: 1,
        warmup: Duration::from_millis(300),
        duration: Duration::from_millis(messages.max(1000)),
    };
    Ok(load::run(&spec).await?.samples)
}
