//! `faasrt-bench pipes`: bytes through chains of `cat` as faasrt pipelines
//! (`wasm` stages, `native` stages, and `mixed` alternating ones), against
//! native `cat` processes joined by OS pipes (`os-pipe`, the baseline) and
//! TCP loopback relays; and the latency of one hop for a 1 KiB message,
//! against an OS pipe, an HTTP invocation, Redis (LPUSH + BRPOP) and NATS
//! (publish to a subscriber), the peers coming from `bench/peers/install.sh`.

use crate::peers;
use crate::report::{self, Bar, Format, Row};
use crate::stats::Samples;
use anyhow::{Context, bail};
use bytes::Bytes;
use faasrt_host_api::{ReadOutcome, pipe};
use faasrt_runtime::pipeline::PipelineSpec;
use faasrt_runtime::{Runtime, RuntimeConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `faasrt-bench pipes`.
#[derive(Debug, clap::Args)]
pub struct PipesArgs {
    /// A short run (under a minute): 128 MiB per throughput case.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV, JSON and SVG output.
    #[arg(long, default_value = "bench-out/pipes")]
    pub out: PathBuf,
    /// The faasrt binary for the HTTP hop (default: next to this one).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
}

/// One result row: a throughput case (`mb_per_s`) or a latency case
/// (`p50_us`, `p99_us` per hop). `ratio_to_os_pipe` compares with the OS
/// pipe case of the same shape measured in the same run: throughput over
/// its throughput, or its latency over this latency (above 1 is better).
#[derive(Debug, Serialize)]
pub struct PipesRow {
    case: String,
    stages: usize,
    chunk_bytes: usize,
    mb_per_s: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    ratio_to_os_pipe: Option<f64>,
}

impl Row for PipesRow {
    fn header() -> &'static [&'static str] {
        &[
            "case",
            "stages",
            "chunk_bytes",
            "mb_per_s",
            "p50_us",
            "p99_us",
            "ratio_to_os_pipe",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let number =
            |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
        vec![
            self.case.clone(),
            self.stages.to_string(),
            self.chunk_bytes.to_string(),
            number(self.mb_per_s, 0),
            number(self.p50_us, 2),
            number(self.p99_us, 2),
            number(self.ratio_to_os_pipe, 2),
        ]
    }
}

const MIB: f64 = (1 << 20) as f64;
const MESSAGE: usize = 1024;

/// Runs the benchmark and prints/writes its results.
pub fn run(args: PipesArgs) -> anyhow::Result<()> {
    let total: usize = if args.quick { 128 << 20 } else { 1 << 30 };
    let messages: u64 = if args.quick { 2_000 } else { 20_000 };
    let cat = native_cat()?;
    let shapes: Vec<(usize, usize)> = [2, 4, 8]
        .into_iter()
        .flat_map(|stages| [4096, 65536].map(|chunk| (stages, chunk)))
        .collect();
    let progress = ProgressBar::new((shapes.len() * 3 + 4) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template"),
    );
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let runtime = io.block_on(async {
        let runtime = Runtime::open(RuntimeConfig::in_memory())?;
        let wasm = faasrt_example_artifacts::get("cat")
            .context("cat example")?
            .wasm;
        runtime
            .deploy("cat", Bytes::from_static(wasm), Default::default())
            .await?;
        let native = faasrt_example_artifacts::get_native("cat-native").context("native cat")?;
        let options = faasrt_runtime::DeployOptions {
            code: faasrt_runtime::Code::Native,
            ..Default::default()
        };
        runtime
            .deploy("cat-native", Bytes::from_static(native.executable), options)
            .await?;
        anyhow::Ok(runtime)
    })?;

    let mut rows = Vec::new();
    for &(stages, chunk) in &shapes {
        progress.set_message(format!("{stages} stages, {chunk} B: OS pipes"));
        let os = os_pipe_chain(&cat, stages, chunk, total)?;
        progress.inc(1);
        progress.set_message(format!("{stages} stages, {chunk} B: wasm"));
        let wasm = io.block_on(faasrt_chain(&runtime, &["cat"], stages, chunk, total))?;
        progress.set_message(format!("{stages} stages, {chunk} B: faasrt native"));
        let native = io.block_on(faasrt_chain(
            &runtime,
            &["cat-native"],
            stages,
            chunk,
            total,
        ))?;
        progress.set_message(format!("{stages} stages, {chunk} B: mixed"));
        let mixed = io.block_on(faasrt_chain(
            &runtime,
            &["cat", "cat-native"],
            stages,
            chunk,
            total,
        ))?;
        progress.inc(1);
        progress.set_message(format!("{stages} stages, {chunk} B: TCP"));
        let tcp = tcp_chain(stages, chunk, total)?;
        progress.inc(1);
        for (case, mb_per_s) in [
            ("wasm", wasm),
            ("native", native),
            ("mixed", mixed),
            ("os-pipe", os),
            ("tcp-loopback", tcp),
        ] {
            rows.push(PipesRow {
                case: case.into(),
                stages,
                chunk_bytes: chunk,
                mb_per_s: Some(mb_per_s),
                p50_us: None,
                p99_us: None,
                ratio_to_os_pipe: Some(mb_per_s / os),
            });
        }
    }

    progress.set_message("1 KiB hop: OS pipe");
    let os_hop = os_pipe_hop(&cat, messages)?;
    progress.inc(1);
    progress.set_message("1 KiB hop: wasm");
    let wasm_hops = [1, 4].map(|stages| io.block_on(wasm_hop(&runtime, stages, messages)));
    progress.inc(1);
    progress.set_message("1 KiB hop: HTTP");
    let http_hop = {
        let scratch = tempfile::tempdir()?;
        let server = peers::start_faasrt(
            &peers::faasrt_binary(args.faasrt.as_deref())?,
            scratch.path(),
        )?;
        io.block_on(http_hop(server.addr, messages / 4))?
    };
    progress.inc(1);
    progress.set_message("1 KiB hop: Redis, NATS");
    let broker = |name: &str, measured: anyhow::Result<Samples>| match measured {
        Ok(samples) => Some(samples),
        Err(error) => {
            eprintln!("note: the {name} hop is left out: {error:#}");
            None
        }
    };
    let redis = broker("Redis", redis_hop(messages / 4));
    let nats = broker("NATS", nats_hop(messages / 4));
    progress.inc(1);
    progress.finish_and_clear();
    let os_p50 = os_hop.quantile_us(0.5) / 2.0;
    let mut hop_row = |case: &str, stages: usize, samples: &Samples, hops: f64| {
        let p50 = samples.quantile_us(0.5) / hops;
        rows.push(PipesRow {
            case: case.into(),
            stages,
            chunk_bytes: MESSAGE,
            mb_per_s: None,
            p50_us: Some(p50),
            p99_us: Some(samples.quantile_us(0.99) / hops),
            ratio_to_os_pipe: Some(os_p50 / p50),
        });
    };
    hop_row("hop-os-pipe", 1, &os_hop, 2.0);
    for (stages, samples) in [1, 4].into_iter().zip(&wasm_hops) {
        let samples = samples.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        hop_row("hop-wasm", stages, samples, (stages + 1) as f64);
    }
    hop_row("hop-http", 1, &http_hop, 1.0);
    if let Some(redis) = &redis {
        hop_row("hop-redis", 1, redis, 1.0);
    }
    if let Some(nats) = &nats {
        hop_row("hop-nats", 1, nats, 1.0);
    }

    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "pipes")?;
    let bars: Vec<Bar> = rows
        .iter()
        .filter_map(|r| {
            r.mb_per_s.map(|v| Bar {
                label: format!("{} {}x{}K", r.case, r.stages, r.chunk_bytes / 1024),
                value: v,
            })
        })
        .collect();
    report::bar_chart_log(
        &args.out.join("pipes.svg"),
        "throughput of cat chains (MB/s, log scale)",
        "MB/s",
        &bars,
    )?;
    eprintln!("wrote {}/pipes.{{csv,json,svg}}", args.out.display());
    Ok(())
}

/// The host build of the `cat` example (`cat-native`, built by
/// `faasrt-example-artifacts` into target/native-examples).
fn native_cat() -> anyhow::Result<PathBuf> {
    match faasrt_example_artifacts::get_native("cat-native") {
        Some(example) => Ok(example.path()),
        None => bail!("no native cat: native examples are built on x86_64 Linux only"),
    }
}

/// A block of `chunk` bytes with a pattern (not zeros, which some paths
/// could special-case).
fn block(chunk: usize) -> Bytes {
    (0..chunk)
        .map(|i| (i * 7 % 253) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// `total` bytes through a faasrt pipeline of `stages` stages cycling
/// through `functions` (`cat` is wasm, `cat-native` a native process), in
/// `chunk`-byte writes.
async fn faasrt_chain(
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
fn spawn_cats(cat: &PathBuf, stages: usize, chunk: usize) -> anyhow::Result<Vec<Child>> {
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
fn os_pipe_chain(cat: &PathBuf, stages: usize, chunk: usize, total: usize) -> anyhow::Result<f64> {
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

/// `total` bytes through `stages` TCP loopback relays (a thread each,
/// copying `chunk` bytes at a time), the way a broker-less chain of network
/// services would pass them.
fn tcp_chain(stages: usize, chunk: usize, total: usize) -> anyhow::Result<f64> {
    let sink = TcpListener::bind("127.0.0.1:0")?;
    let mut next = sink.local_addr()?;
    let mut relays = Vec::new();
    for _ in 0..stages {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let to = next;
        relays.push(std::thread::spawn(move || -> std::io::Result<()> {
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
        }));
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

/// Round trips of a 1 KiB message through `stages` wasm `cat`s (from the
/// bench into the first pipe, out of the last one).
async fn wasm_hop(runtime: &Runtime, stages: usize, messages: u64) -> anyhow::Result<Samples> {
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
fn round_trips(
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
fn os_pipe_hop(cat: &PathBuf, messages: u64) -> anyhow::Result<Samples> {
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
/// `faasrt serve`: what one function calling the next over HTTP costs.
async fn http_hop(addr: std::net::SocketAddr, messages: u64) -> anyhow::Result<Samples> {
    let spec = crate::load::LoadSpec {
        addr,
        path: "/v1/functions/cat/invoke".into(),
        body: block(MESSAGE),
        expected_body: block(MESSAGE),
        connections: 1,
        warmup: Duration::from_millis(300),
        duration: Duration::from_millis(messages.max(1000)),
    };
    Ok(crate::load::run(&spec).await?.samples)
}

/// Starts `program args...` with `{port}` in `args` replaced by a free port,
/// and waits until the port accepts connections.
fn start_peer(program: &str, args: &[&str]) -> anyhow::Result<(Child, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{port}", &port.to_string()))
        .collect();
    let child = Command::new(program)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {program} (install it with bench/peers/install.sh)"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("{program} does not listen on {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, port))
}

/// Reads one line (up to CRLF) from a peer.
fn read_line(stream: &mut impl Read) -> anyhow::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        stream.read_exact(&mut byte)?;
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

/// One hop through Redis: LPUSH a 1 KiB message to a list, BRPOP it back
/// (the way a broker-based chain hands data to the next function).
fn redis_hop(messages: u64) -> anyhow::Result<Samples> {
    let (mut server, port) = start_peer(
        "redis-server",
        &[
            "--port",
            "{port}",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )?;
    let result = (|| {
        let mut stream = std::io::BufReader::new(TcpStream::connect(("127.0.0.1", port))?);
        stream.get_ref().set_nodelay(true)?;
        let message = block(MESSAGE);
        let mut push = format!("*3\r\n$5\r\nLPUSH\r\n$5\r\nhops1\r\n${MESSAGE}\r\n").into_bytes();
        push.extend_from_slice(&message);
        push.extend_from_slice(b"\r\n");
        let pop = b"*3\r\n$5\r\nBRPOP\r\n$5\r\nhops1\r\n$1\r\n0\r\n";
        let mut payload = vec![0u8; MESSAGE + 2];
        round_trips(messages, || {
            stream.get_mut().write_all(&push)?;
            read_line(&mut stream)?; // :1
            stream.get_mut().write_all(pop)?;
            read_line(&mut stream)?; // *2
            read_line(&mut stream)?; // $5
            read_line(&mut stream)?; // hops1
            read_line(&mut stream)?; // $1024
            stream.read_exact(&mut payload)?;
            if payload[..MESSAGE] != message[..] {
                bail!("redis returned another message");
            }
            Ok(())
        })
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// One hop through NATS: publish a 1 KiB message, receive it on a
/// subscription of another connection.
fn nats_hop(messages: u64) -> anyhow::Result<Samples> {
    let (mut server, port) = start_peer("nats-server", &["-a", "127.0.0.1", "-p", "{port}"])?;
    let result = (|| {
        let connect = |subscribe: bool| -> anyhow::Result<std::io::BufReader<TcpStream>> {
            let mut stream = std::io::BufReader::new(TcpStream::connect(("127.0.0.1", port))?);
            stream.get_ref().set_nodelay(true)?;
            read_line(&mut stream)?; // INFO
            stream
                .get_mut()
                .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")?;
            if subscribe {
                stream.get_mut().write_all(b"SUB hops 1\r\nPING\r\n")?;
                while read_line(&mut stream)? != b"PONG" {}
            }
            Ok(stream)
        };
        let mut subscriber = connect(true)?;
        let mut publisher = connect(false)?;
        let message = block(MESSAGE);
        let mut publish = format!("PUB hops {MESSAGE}\r\n").into_bytes();
        publish.extend_from_slice(&message);
        publish.extend_from_slice(b"\r\n");
        let mut payload = vec![0u8; MESSAGE + 2];
        round_trips(messages, || {
            publisher.get_mut().write_all(&publish)?;
            loop {
                let line = read_line(&mut subscriber)?;
                if line.starts_with(b"MSG") {
                    break;
                }
                if line == b"PING" {
                    subscriber.get_mut().write_all(b"PONG\r\n")?;
                }
            }
            subscriber.read_exact(&mut payload)?;
            if payload[..MESSAGE] != message[..] {
                bail!("nats delivered another message");
            }
            Ok(())
        })
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}
