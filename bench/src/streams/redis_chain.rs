//! The broker baseline of `faasrt-bench streams`: the same one-stage chain
//! with Redis Streams on both of the stage's edges, as such chains are
//! deployed today. The records are in stream `in` first (XADD, pipelined,
//! as faasrt's input log is filled before the run); a stage thread moves
//! them with XREADGROUP (COUNT 1000) to stream `out` (XADD, pipelined) and
//! acknowledges them (XACK); a sink thread reads `out` (XREAD COUNT 1000)
//! until it has them all. The stage does no work at all, which favours the
//! broker: faasrt's stage runs a wasm function per batch.

use crate::pipes::brokers::{read_line, start_redis};
use anyhow::{Context, bail};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Records moved per command.
const BATCH: usize = 1_000;

/// The time to move `records` through the chain.
pub(super) fn redis_chain(records: &[Vec<u8>]) -> anyhow::Result<Duration> {
    let (mut server, port) = start_redis()?;
    let result = (|| {
        let mut producer = Redis::connect(port)?;
        for chunk in records.chunks(BATCH) {
            for record in chunk {
                producer.send(&[b"XADD", b"in", b"*", b"v", record])?;
            }
            for _ in chunk {
                producer.read()?;
            }
        }
        producer.send(&[b"XGROUP", b"CREATE", b"in", b"g", b"0"])?;
        producer.read()?;
        super::timed_stage_and_sink(port, records.len(), stage, sink)
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

fn stage(port: u16, total: usize) -> anyhow::Result<()> {
    let mut redis = Redis::connect(port)?;
    let count = BATCH.to_string();
    let mut moved = 0;
    while moved < total {
        redis.send(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"COUNT",
            count.as_bytes(),
            b"BLOCK",
            b"1000",
            b"STREAMS",
            b"in",
            b">",
        ])?;
        let entries = entries_of(redis.read()?);
        for (_, value) in &entries {
            redis.send(&[b"XADD", b"out", b"*", b"v", value])?;
        }
        let mut ack: Vec<&[u8]> = vec![b"XACK", b"in", b"g"];
        ack.extend(entries.iter().map(|(id, _)| id.as_slice()));
        redis.send(&ack)?;
        for _ in 0..=entries.len() {
            redis.read()?;
        }
        moved += entries.len();
    }
    Ok(())
}

fn sink(port: u16, total: usize) -> anyhow::Result<()> {
    let mut redis = Redis::connect(port)?;
    let count = BATCH.to_string();
    let mut last = b"0".to_vec();
    let mut received = 0;
    while received < total {
        redis.send(&[
            b"XREAD",
            b"COUNT",
            count.as_bytes(),
            b"BLOCK",
            b"1000",
            b"STREAMS",
            b"out",
            &last,
        ])?;
        let entries = entries_of(redis.read()?);
        if let Some((id, _)) = entries.last() {
            last = id.clone();
        }
        received += entries.len();
    }
    Ok(())
}

/// A RESP value.
#[derive(Debug)]
enum Value {
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
    Simple,
}

/// The (id, value) entries of an XREAD/XREADGROUP answer.
fn entries_of(answer: Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Value::Array(Some(streams)) = answer else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for stream in streams {
        let Value::Array(Some(mut parts)) = stream else {
            continue;
        };
        let Some(Value::Array(Some(items))) = parts.pop() else {
            continue;
        };
        for item in items {
            let Value::Array(Some(mut item)) = item else {
                continue;
            };
            let fields = item.pop();
            let id = item.pop();
            if let (Some(Value::Bulk(Some(id))), Some(Value::Array(Some(mut fields)))) =
                (id, fields)
                && let Some(Value::Bulk(Some(value))) = fields.pop()
            {
                entries.push((id, value));
            }
        }
    }
    entries
}

struct Redis {
    stream: BufReader<TcpStream>,
    out: Vec<u8>,
}

impl Redis {
    fn connect(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).context("connecting to redis")?;
        stream.set_nodelay(true)?;
        Ok(Redis {
            stream: BufReader::with_capacity(1 << 20, stream),
            out: Vec::new(),
        })
    }

    /// Buffers one command; [`Redis::read`] sends what is buffered.
    fn send(&mut self, parts: &[&[u8]]) -> anyhow::Result<()> {
        self.out
            .extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
        for part in parts {
            self.out
                .extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            self.out.extend_from_slice(part);
            self.out.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    fn read(&mut self) -> anyhow::Result<Value> {
        if !self.out.is_empty() {
            self.stream.get_mut().write_all(&self.out)?;
            self.out.clear();
        }
        self.value()
    }

    fn value(&mut self) -> anyhow::Result<Value> {
        let line = read_line(&mut self.stream)?;
        let (kind, rest) = line.split_first().context("an empty answer from redis")?;
        let number = || -> anyhow::Result<i64> { Ok(std::str::from_utf8(rest)?.parse()?) };
        Ok(match kind {
            b'+' | b':' => Value::Simple,
            b'-' => bail!("redis: {}", String::from_utf8_lossy(rest)),
            b'$' => match number()? {
                -1 => Value::Bulk(None),
                n => {
                    let mut bytes = vec![0; n as usize + 2];
                    self.stream.read_exact(&mut bytes)?;
                    bytes.truncate(n as usize);
                    Value::Bulk(Some(bytes))
                }
            },
            b'*' => match number()? {
                -1 => Value::Array(None),
                n => Value::Array(Some(
                    (0..n)
                        .map(|_| self.value())
                        .collect::<anyhow::Result<_>>()?,
                )),
            },
            other => bail!("redis answered {:?}", *other as char),
        })
    }
}
