//! The throughput cases of `faasrt-bench pipes`: `total` bytes through a
//! chain of `cat`s, as a faasrt pipeline (wasm, native or mixed stages),
//! as native `cat` processes joined by OS pipes (the baseline), and as TCP
//! loopback relays. Each case writes fixed-size blocks at one end, counts
//! the bytes at the other and returns MiB per second.

use super::block;
use anyhow::{Context, bail};
use faasrt_host_api::{ReadOutcome, pipe};
use faasrt_runtime::Runtime;
use faasrt_runtime::pipeline::PipelineSpec;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Instant;

const MIB: f64 = (1 << 20) as f64;

/// The throughput of every kind of chain for one shape, in MiB per second
/// (reported as `mb_per_s`), all measured in the same run.
pub(super) struct ChainThroughput {
    /// Native `cat` processes over OS pipes: the baseline.
    pub(super) os_pipe: f64,
    /// A faasrt pipeline of wasm `cat`s.
    pub(super) wasm: f64,
    /// A faasrt pipeline of native `cat` processes.
    pub(super) native: f64,
    /// A faasrt pipeline alternating wasm and native `cat`s.
    pub(super) mixed: f64,
    /// Relay threads over TCP loopback.
    pub(super) tcp_loopback: f64,
}

/// `total` bytes through a faasrt pipeline of `stages` stages cycling
/// through `functions` (`cat` is wasm, `cat-native` a native process), in
/// `chunk`-byte writes.
pub(super) async fn faasrt_chain(
    runtime: &Runtime,
    functions: &[&str],
    stages: usize,
    chunk: usize,
    total: usize,
) -> anyhow::Result<f64> {
    let spec: Vec<String> = (0..stages)
        .map(|i| format!("{} -b {chunk}", functions[i % functions.len()]))
        .collect();
    let spec = PipelineSpec::parse(&spec.join(" | "))?;
    let prepared = runtime.prepare_pipeline(&spec)?;
    let (writer, input) = pipe(64 << 10);
    let (output, reader) = pipe(64 << 10);
    let block = block(chunk);
    let started = Instant::now();
    let feed = async move {
        let mut sent = 0;
        while sent < total {
            writer
                .write_all(block.clone())
                .await
                .map_err(|_| anyhow::anyhow!("broken pipe"))?;
            sent += block.len();
        }
        anyhow::Ok(())
    };
    let drain = async move {
        let mut received = 0usize;
        while let ReadOutcome::Data(bytes) = reader.read(chunk).await {
            received += bytes.len();
        }
        received
    };
    let (fed, result, received) = tokio::join!(feed, prepared.run(input, output), drain);
    fed?;
    if received != total || result.exit_code() != 0 {
        bail!(
            "chain moved {received} of {total} bytes (statuses {:?})",
            result.pipestatus()
        );
    }
    Ok(total as f64 / MIB / started.elapsed().as_secs_f64())
}

/// Spawns `stages` native `cat -b chunk` processes joined by OS pipes.
pub(super) fn spawn_cats(cat: &Path, stages: usize, chunk: usize) -> anyhow::Result<Vec<Child>> {
    let mut children: Vec<Child> = Vec::with_capacity(stages);
    for i in 0..stages {
        let stdin = match children.last_mut() {
            Some(previous) => Stdio::from(previous.stdout.take().context("stdout")?),
            None => Stdio::piped(),
        };
        let child = Command::new(cat)
            .args(["-b", &chunk.to_string()])
            .stdin(stdin)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning cat {i}"))?;
        children.push(child);
    }
    Ok(children)
}

/// `total` bytes through `stages` native `cat` processes over OS pipes.
pub(super) fn os_pipe_chain(
    cat: &Path,
    stages: usize,
    chunk: usize,
    total: usize,
) -> anyhow::Result<f64> {
    let mut children = spawn_cats(cat, stages, chunk)?;
    let mut first = children[0].stdin.take().context("stdin")?;
    let mut last = children[stages - 1].stdout.take().context("stdout")?;
    let block = block(chunk);
    let started = Instant::now();
    let writer = std::thread::spawn(move || write_blocks(&mut first, &block, total));
    let received = count_until_eof(&mut last, chunk)?;
    let elapsed = started.elapsed();
    writer.join().expect("writer thread")?;
    for mut child in children {
        child.wait()?;
    }
    if received != total {
        bail!("OS pipe chain moved {received} of {total} bytes");
    }
    Ok(total as f64 / MIB / elapsed.as_secs_f64())
}

/// `total` bytes through `stages` TCP loopback relays (a thread each,
/// copying `chunk` bytes at a time), the way a broker-less chain of network
/// services would pass them.
pub(super) fn tcp_chain(stages: usize, chunk: usize, total: usize) -> anyhow::Result<f64> {
    let sink = TcpListener::bind("127.0.0.1:0")?;
    let mut next = sink.local_addr()?;
    let mut relays = Vec::new();
    for _ in 0..stages {
        let (address, relay) = start_relay(next, chunk)?;
        relays.push(relay);
        next = address;
    }
    let block = block(chunk);
    let started = Instant::now();
    let writer =
        std::thread::spawn(move || write_blocks(&mut TcpStream::connect(next)?, &block, total));
    let (mut last, _) = sink.accept()?;
    let received = count_until_eof(&mut last, chunk)?;
    let elapsed = started.elapsed();
    writer.join().expect("writer")?;
    for relay in relays {
        relay.join().expect("relay")?;
    }
    if received != total {
        bail!("TCP chain moved {received} of {total} bytes");
    }
    Ok(total as f64 / MIB / elapsed.as_secs_f64())
}

/// A relay thread that accepts one connection on a fresh loopback port and
/// copies it to `to`, `chunk` bytes at a time, until it ends; returns the
/// port's address and the thread.
fn start_relay(
    to: SocketAddr,
    chunk: usize,
) -> std::io::Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let relay = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut from, _) = listener.accept()?;
        let mut out = TcpStream::connect(to)?;
        out.set_nodelay(true)?;
        let mut buffer = vec![0u8; chunk];
        loop {
            let n = from.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buffer[..n])?;
        }
    });
    Ok((address, relay))
}

/// Writes `block` to `out` until `total` bytes went out (the source of the
/// process and TCP chains).
fn write_blocks(out: &mut impl Write, block: &[u8], total: usize) -> std::io::Result<()> {
    let mut sent = 0;
    while sent < total {
        out.write_all(block)?;
        sent += block.len();
    }
    Ok(())
}

/// Reads `input` to its end and returns how many bytes came (the sink).
fn count_until_eof(input: &mut impl Read, chunk: usize) -> std::io::Result<usize> {
    let mut buffer = vec![0u8; chunk.max(65536)];
    let mut received = 0;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            return Ok(received);
        }
        received += n;
    }
}
