//! The NATS JetStream baselines of `faasrt-bench streams`: the one-stage
//! chain of `redis_chain` with a JetStream stream on each of the stage's
//! edges, and one hop of a 1 KiB message through a JetStream stream.
//!
//! Each run starts its own nats-server (from `bench/peers/install.sh
//! brokers`) with JetStream on, its store in a fresh temporary directory,
//! and speaks the NATS text protocol to it over loopback TCP, as
//! `pipes::brokers` does for core NATS. Streams use file storage, the
//! JetStream default and the counterpart of faasrt's durable input log;
//! nats-server 2.9 does not fsync each message (strace sees no fsync in a
//! run), where faasrt fsyncs every commit. Every JetStream answer is
//! checked: an `error` in it fails the run with its description, and every
//! wait for the server fails after [`STALL`] without progress.

use crate::pipes::brokers::{read_line, start_peer};
use crate::pipes::hops::round_trips;
use crate::pipes::{MESSAGE, block};
use crate::stats::Samples;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Records asked for per pull request, and published per round of acks.
const BATCH: usize = 1_000;

/// How long any wait for nats-server may go without progress before the
/// run fails.
const STALL: Duration = Duration::from_secs(60);

/// How long a pull request waits for its batch to fill, in nanoseconds
/// (JetStream's unit): 1 s, as the Redis chain's `BLOCK 1000`.
const PULL_EXPIRES_NS: u64 = 1_000_000_000;

/// The subscription ids every connection opens on its own inbox subjects:
/// answers to API requests, publish acks, and pulled messages.
const REQUESTS: u64 = 1;
/// See [`REQUESTS`].
const ACKS: u64 = 2;
/// See [`REQUESTS`].
const PULLS: u64 = 3;
/// The subscription id of the hop's push consumer's deliveries.
const DELIVERIES: u64 = 4;

/// The time to move `records` through the chain: stream `IN` (subject
/// `in`) is filled first, pipelined and each publish acked, as faasrt's
/// input log is filled before the run. Then, timed, a stage thread pulls
/// from a durable pull consumer on `IN` in batches of [`BATCH`], publishes
/// each record to `out` (stream `OUT`, pipelined, every publish acked by
/// JetStream) and, once they are all acked, acknowledges the batch: the
/// consumer's ack policy is AckAll, so one `+ACK` to the batch's last
/// message acknowledges the whole batch (sent with the next pull request).
/// A sink thread pulls from a consumer on `OUT` (AckNone, as the Redis
/// sink's XREAD) until it has every record. The stage does no work, which
/// favours the broker: faasrt's stage runs a wasm function per batch.
pub(super) fn nats_jetstream_chain(records: &[Vec<u8>]) -> anyhow::Result<Duration> {
    let server = JetStream::start()?;
    let port = server.port;
    let mut producer = Nats::connect(port)?;
    create_stream(&mut producer, "IN", "in")?;
    create_stream(&mut producer, "OUT", "out")?;
    for chunk in records.chunks(BATCH) {
        for record in chunk {
            producer.publish("in", Some(ACKS), record);
        }
        producer.publish_acks(chunk.len())?;
    }
    create_consumer(&mut producer, "IN", "stage", json!({"ack_policy": "all"}))?;
    create_consumer(&mut producer, "OUT", "sink", json!({"ack_policy": "none"}))?;
    super::timed_stage_and_sink(port, records.len(), stage, sink)
}

/// One hop through JetStream: a 1 KiB message published to stream `HOPS`
/// (file storage) and its publish ack, and the message received on another
/// connection from a push consumer (AckNone, delivering to a subject that
/// connection subscribes to), per round trip.
pub(super) fn nats_jetstream_hop(messages: u64) -> anyhow::Result<Samples> {
    let server = JetStream::start()?;
    let mut publisher = Nats::connect(server.port)?;
    create_stream(&mut publisher, "HOPS", "hops")?;
    let mut subscriber = Nats::connect(server.port)?;
    subscriber.subscribe("deliver.hops", DELIVERIES);
    subscriber.ping()?;
    create_consumer(
        &mut publisher,
        "HOPS",
        "hop",
        json!({"ack_policy": "none", "deliver_policy": "new", "deliver_subject": "deliver.hops"}),
    )?;
    let message = block(MESSAGE);
    round_trips(messages, || {
        publisher.publish("hops", Some(ACKS), &message);
        publisher.publish_acks(1)?;
        let delivered = subscriber.next(DELIVERIES)?;
        if delivered.status.is_some() || delivered.payload != message[..] {
            bail!("jetstream delivered another message");
        }
        Ok(())
    })
}

/// The stage: pulls batches from `IN`, publishes them to `out`, and acks
/// each batch once `OUT` holds it.
fn stage(port: u16, total: usize) -> anyhow::Result<()> {
    let mut nats = Nats::connect(port)?;
    let mut moved = 0;
    let mut last_reply: Option<String> = None;
    let mut progress = Instant::now();
    while moved < total {
        if let Some(reply) = last_reply.take() {
            nats.publish(&reply, None, b"+ACK");
        }
        let batch = nats.pull("IN", "stage", BATCH.min(total - moved))?;
        for message in &batch {
            nats.publish("out", Some(ACKS), &message.payload);
        }
        nats.publish_acks(batch.len())?;
        if let Some(last) = batch.last() {
            last_reply = Some(
                last.reply
                    .clone()
                    .context("a pulled message without reply")?,
            );
            moved += batch.len();
            progress = Instant::now();
        } else if progress.elapsed() > STALL {
            bail!("no record from stream IN for {} s", STALL.as_secs());
        }
    }
    if let Some(reply) = last_reply {
        nats.publish(&reply, None, b"+ACK");
    }
    nats.ping()
}

/// The sink: pulls from `OUT` until it has `total` records.
fn sink(port: u16, total: usize) -> anyhow::Result<()> {
    let mut nats = Nats::connect(port)?;
    let mut received = 0;
    let mut progress = Instant::now();
    while received < total {
        let batch = nats.pull("OUT", "sink", BATCH.min(total - received))?;
        if batch.is_empty() {
            if progress.elapsed() > STALL {
                bail!(
                    "{received} of {total} records in stream OUT after {} s without one more",
                    STALL.as_secs()
                );
            }
        } else {
            received += batch.len();
            progress = Instant::now();
        }
    }
    Ok(())
}

/// Creates stream `name` on `subject`, with file storage (the default).
fn create_stream(nats: &mut Nats, name: &str, subject: &str) -> anyhow::Result<()> {
    let config = json!({"name": name, "subjects": [subject], "storage": "file"});
    nats.request(&format!("$JS.API.STREAM.CREATE.{name}"), &config)
        .with_context(|| format!("creating stream {name}"))?;
    Ok(())
}

/// Creates the durable consumer `name` on `stream`, delivering it all from
/// the start unless `config` says otherwise.
fn create_consumer(
    nats: &mut Nats,
    stream: &str,
    name: &str,
    mut config: Value,
) -> anyhow::Result<()> {
    let fields = config
        .as_object_mut()
        .expect("a consumer config is a JSON object");
    fields.insert("durable_name".into(), name.into());
    fields.entry("deliver_policy").or_insert("all".into());
    let request = json!({"stream_name": stream, "config": config});
    nats.request(
        &format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
        &request,
    )
    .with_context(|| format!("creating consumer {name} on stream {stream}"))?;
    Ok(())
}

/// The JSON of a JetStream answer, or its `error` as an error.
fn answer(payload: &[u8]) -> anyhow::Result<Value> {
    let value: Value = serde_json::from_slice(payload).with_context(|| {
        format!(
            "jetstream answered {:?}, not JSON",
            String::from_utf8_lossy(payload)
        )
    })?;
    if let Some(error) = value.get("error") {
        bail!(
            "jetstream: {} (code {}, err_code {})",
            error["description"].as_str().unwrap_or("no description"),
            error["code"],
            error["err_code"]
        );
    }
    Ok(value)
}

/// A nats-server of its own with JetStream on, on a free loopback port,
/// storing into a temporary directory. Dropping it stops the server, then
/// removes the store.
struct JetStream {
    server: Child,
    port: u16,
    /// Removed when dropped, after the server is stopped (fields drop
    /// after `drop` runs).
    _store: tempfile::TempDir,
}

impl JetStream {
    /// Starts the server and waits until it accepts connections.
    fn start() -> anyhow::Result<Self> {
        let store = tempfile::tempdir()?;
        let store_dir = store
            .path()
            .to_str()
            .context("the temporary directory's path is not UTF-8")?;
        let (server, port) = start_peer(
            "nats-server",
            &["-a", "127.0.0.1", "-p", "{port}", "-js", "-sd", store_dir],
        )?;
        Ok(JetStream {
            server,
            port,
            _store: store,
        })
    }
}

impl Drop for JetStream {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A message from the server: a delivery on one of the subscriptions.
struct Message {
    /// The subscription it came on.
    sid: u64,
    /// Its reply subject (a JetStream message's ack subject).
    reply: Option<String>,
    /// The status of a status message (`408` for an expired pull request,
    /// say): headers only, no data.
    status: Option<u16>,
    payload: Vec<u8>,
}

/// Numbers connections, to give each inbox subjects of its own.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// One client connection, with its inbox subscribed to (`REQUESTS`,
/// `ACKS`, `PULLS`). Sends are buffered; reading sends what is buffered.
struct Nats {
    stream: BufReader<TcpStream>,
    out: Vec<u8>,
    inbox: String,
}

impl Nats {
    /// Connects (with headers on, for JetStream's status messages) and
    /// subscribes to the inbox.
    fn connect(port: u16) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).context("connecting to nats-server")?;
        stream.set_nodelay(true)?;
        // A server that stops answering fails the read instead of hanging.
        stream.set_read_timeout(Some(STALL))?;
        stream.set_write_timeout(Some(STALL))?;
        let mut nats = Nats {
            stream: BufReader::with_capacity(1 << 20, stream),
            out: Vec::new(),
            inbox: format!("_INBOX.{}", CONNECTIONS.fetch_add(1, Ordering::Relaxed)),
        };
        let info = nats.line()?;
        if !info.starts_with(b"INFO") {
            bail!(
                "nats-server greeted with {:?}",
                String::from_utf8_lossy(&info)
            );
        }
        nats.out.extend_from_slice(
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\n",
        );
        for sid in [REQUESTS, ACKS, PULLS] {
            let subject = nats.inbox_subject(sid);
            nats.subscribe(&subject, sid);
        }
        nats.ping()?;
        Ok(nats)
    }

    /// The inbox subject of subscription `sid`.
    fn inbox_subject(&self, sid: u64) -> String {
        format!("{}.{sid}", self.inbox)
    }

    /// Buffers a subscription to `subject` as `sid`.
    fn subscribe(&mut self, subject: &str, sid: u64) {
        self.out
            .extend_from_slice(format!("SUB {subject} {sid}\r\n").as_bytes());
    }

    /// Buffers a publish to `subject`, its answers going to the inbox of
    /// `reply` where given.
    fn publish(&mut self, subject: &str, reply: Option<u64>, payload: &[u8]) {
        let reply = reply.map_or(String::new(), |sid| format!(" {}", self.inbox_subject(sid)));
        self.out
            .extend_from_slice(format!("PUB {subject}{reply} {}\r\n", payload.len()).as_bytes());
        self.out.extend_from_slice(payload);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Sends what is buffered and waits until the server has processed it.
    fn ping(&mut self) -> anyhow::Result<()> {
        self.out.extend_from_slice(b"PING\r\n");
        match self.operation()? {
            Operation::Pong => Ok(()),
            Operation::Message(message) => bail!(
                "an unexpected message on subscription {} while waiting for PONG",
                message.sid
            ),
        }
    }

    /// Waits for the acks of `count` publishes to a stream, each checked.
    fn publish_acks(&mut self, count: usize) -> anyhow::Result<()> {
        for _ in 0..count {
            let ack = self.next(ACKS)?;
            if let Some(status) = ack.status {
                bail!("publishing to a stream: status {status} (no stream on the subject?)");
            }
            let ack = answer(&ack.payload).context("publishing to a stream")?;
            if ack.get("seq").is_none() {
                bail!("a publish ack without a sequence number: {ack}");
            }
        }
        Ok(())
    }

    /// Sends a JetStream API request and returns its checked answer. While
    /// JetStream is starting no one answers (status 503); it retries then.
    fn request(&mut self, subject: &str, body: &Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(body)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.publish(subject, Some(REQUESTS), &body);
            let reply = self.next(REQUESTS)?;
            match reply.status {
                None => return answer(&reply.payload),
                Some(503) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some(status) => bail!("jetstream answered {subject} with status {status}"),
            }
        }
    }

    /// Asks consumer `consumer` of `stream` for `batch` messages and
    /// returns those that came before the request ended: all of them, or
    /// fewer where it expired ([`PULL_EXPIRES_NS`]) first.
    fn pull(&mut self, stream: &str, consumer: &str, batch: usize) -> anyhow::Result<Vec<Message>> {
        let request = json!({"batch": batch, "expires": PULL_EXPIRES_NS});
        self.publish(
            &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
            Some(PULLS),
            &serde_json::to_vec(&request)?,
        );
        let mut messages = Vec::with_capacity(batch);
        while messages.len() < batch {
            let message = self.next(PULLS)?;
            match message.status {
                None => messages.push(message),
                // 404 no messages, 408 expired, 409 a limit reached: the
                // request is over.
                Some(400..=499) => break,
                Some(status) => bail!("pulling from {stream}.{consumer}: status {status}"),
            }
        }
        Ok(messages)
    }

    /// The next message, which must come on subscription `sid`.
    fn next(&mut self, sid: u64) -> anyhow::Result<Message> {
        match self.operation()? {
            Operation::Message(message) if message.sid == sid => Ok(message),
            Operation::Message(message) => bail!(
                "a message on subscription {} while waiting for one on {sid}",
                message.sid
            ),
            Operation::Pong => bail!("an unexpected PONG from nats-server"),
        }
    }

    /// Sends what is buffered, then reads up to the next message or PONG,
    /// answering the server's PINGs on the way.
    fn operation(&mut self) -> anyhow::Result<Operation> {
        self.flush()?;
        loop {
            let line = self.line()?;
            let mut words = line
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .map(|w| std::str::from_utf8(w).unwrap_or(""));
            match words.next().unwrap_or("") {
                "MSG" | "HMSG" => {
                    let has_headers = line.starts_with(b"H");
                    let fields: Vec<&str> = words.collect();
                    return Ok(Operation::Message(self.message(has_headers, &fields)?));
                }
                "PING" => {
                    self.out.extend_from_slice(b"PONG\r\n");
                    self.flush()?;
                }
                "PONG" => return Ok(Operation::Pong),
                "-ERR" => bail!(
                    "nats-server: {}",
                    String::from_utf8_lossy(&line[4..]).trim()
                ),
                // INFO updates and +OK (not asked for) say nothing here.
                _ => {}
            }
        }
    }

    /// Reads the body of a `MSG`/`HMSG` whose control line held `fields`:
    /// subject, sid, reply subject (optional), header size (`HMSG` only)
    /// and total size.
    fn message(&mut self, has_headers: bool, fields: &[&str]) -> anyhow::Result<Message> {
        let sizes = if has_headers { 2 } else { 1 };
        if fields.len() < 2 + sizes || fields.len() > 3 + sizes {
            bail!("a malformed message line from nats-server: {fields:?}");
        }
        let number = |field: &str| -> anyhow::Result<usize> {
            field
                .parse()
                .with_context(|| format!("a malformed size {field:?} from nats-server"))
        };
        let sid = fields[1]
            .parse()
            .context("a malformed sid from nats-server")?;
        let reply = (fields.len() == 3 + sizes).then(|| fields[2].to_string());
        let total = number(fields[fields.len() - 1])?;
        let header_size = if has_headers {
            number(fields[fields.len() - 2])?
        } else {
            0
        };
        let mut body = vec![0; total + 2];
        self.read_exact(&mut body)?;
        body.truncate(total);
        let status = if has_headers {
            status_of(&body[..header_size.min(total)])
        } else {
            None
        };
        body.drain(..header_size.min(total));
        Ok(Message {
            sid,
            reply,
            status,
            payload: body,
        })
    }

    /// Writes what is buffered.
    fn flush(&mut self) -> anyhow::Result<()> {
        if !self.out.is_empty() {
            self.stream
                .get_mut()
                .write_all(&self.out)
                .context("writing to nats-server")?;
            self.out.clear();
        }
        Ok(())
    }

    /// One control line, failing after [`STALL`] without one.
    fn line(&mut self) -> anyhow::Result<Vec<u8>> {
        read_line(&mut self.stream).map_err(|error| timed_out(error, "a line"))
    }

    /// Exactly `bytes.len()` bytes, failing after [`STALL`] without them.
    fn read_exact(&mut self, bytes: &mut [u8]) -> anyhow::Result<()> {
        self.stream
            .read_exact(bytes)
            .map_err(|error| timed_out(error.into(), "a message body"))
    }
}

/// What [`Nats::operation`] read.
enum Operation {
    Message(Message),
    Pong,
}

/// The status code in a header block (`NATS/1.0 408 Request Timeout`), if
/// it has one.
fn status_of(headers: &[u8]) -> Option<u16> {
    let first = headers.split(|&b| b == b'\r').next()?;
    let rest = first.strip_prefix(b"NATS/1.0")?;
    std::str::from_utf8(rest)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `error`, said as a stall where it is the socket's read timeout.
fn timed_out(error: anyhow::Error, what: &str) -> anyhow::Error {
    let timeout = error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    if timeout {
        anyhow::anyhow!("nats-server sent no {what} for {} s", STALL.as_secs())
    } else {
        error.context(format!("reading {what} from nats-server"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether nats-server can be started here; the tests that need it
    /// pass without it (with a note), as the bench leaves its rows out.
    fn nats_server_installed() -> bool {
        let found = std::process::Command::new("nats-server")
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            eprintln!("note: nats-server is not installed (bench/peers/install.sh brokers)");
        }
        found
    }

    #[test]
    fn chain_moves_every_record_in_partial_batches_too() {
        if !nats_server_installed() {
            return;
        }
        let records: Vec<Vec<u8>> = (0..2_500).map(|i| format!("r{i}\n").into_bytes()).collect();
        nats_jetstream_chain(&records).expect("the chain runs");
    }

    #[test]
    fn hop_delivers_each_message() {
        if !nats_server_installed() {
            return;
        }
        let samples = nats_jetstream_hop(50).expect("the hop runs");
        assert_eq!(samples.len(), 50);
    }

    #[test]
    fn status_is_read_from_the_header_block() {
        let headers = b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n";
        assert_eq!(status_of(headers), Some(408));
        assert_eq!(status_of(b"NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n"), None);
    }

    #[test]
    fn an_error_answer_fails_with_its_description() {
        let payload = br#"{"type":"x","error":{"code":400,"err_code":10058,"description":"stream name already in use"}}"#;
        let error = answer(payload).unwrap_err().to_string();
        assert!(error.contains("stream name already in use"), "{error}");
        assert!(answer(br#"{"stream":"IN", "seq":1}"#).is_ok());
    }
}
