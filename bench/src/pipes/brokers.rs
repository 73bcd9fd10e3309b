//! The broker peers of `faasrt-bench pipes`' hop cases: one hop of a 1 KiB
//! message through Redis (LPUSH, then BRPOP) and through NATS (publish to a
//! subscriber), the way a broker-based chain hands data to the next
//! function. Each starts its server (from `bench/peers/install.sh`) on a
//! free loopback port and speaks its wire protocol directly; a missing
//! server leaves its case out.

use super::hops::round_trips;
use super::{MESSAGE, block};
use crate::stats::Samples;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The samples of the `name` hop, or `None` with a note on stderr where it
/// could not be measured (its server is not installed, say).
pub(super) fn unless_unavailable(name: &str, measured: anyhow::Result<Samples>) -> Option<Samples> {
    match measured {
        Ok(samples) => Some(samples),
        Err(error) => {
            eprintln!("note: the {name} hop is left out: {error:#}");
            None
        }
    }
}

/// One hop through Redis: LPUSH a 1 KiB message to a list, BRPOP it back
/// (the way a broker-based chain hands data to the next function).
pub(crate) fn redis_hop(messages: u64) -> anyhow::Result<Samples> {
    let (mut server, port) = start_redis()?;
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
pub(super) fn nats_hop(messages: u64) -> anyhow::Result<Samples> {
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

/// Starts a redis-server of its own on a free loopback port, without
/// persistence.
pub(crate) fn start_redis() -> anyhow::Result<(Child, u16)> {
    start_peer(
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
    )
}

/// Starts `program args...` with `{port}` in `args` replaced by a free port,
/// and waits until the port accepts connections.
pub(crate) fn start_peer(program: &str, args: &[&str]) -> anyhow::Result<(Child, u16)> {
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
pub(crate) fn read_line(stream: &mut impl Read) -> anyhow::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        stream.read_exact(&mut byte)?;
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(line)
}
