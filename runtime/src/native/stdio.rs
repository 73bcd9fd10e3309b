//! A native child's stdio: descriptors handed over as they are
//! ([`OsStdio`]), or OS pipes bridged to faasrt's in-process pipes with the
//! same semantics (EOF when the writer goes, `EPIPE` when the reader does),
//! and its log drained into the invocation's tail.

use bytes::Bytes;
use faasrt_host_api::{Faasin, LogTail, PipeWriter, ReadOutcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Descriptors a native stage uses as they are instead of bridged pipes.
#[derive(Default)]
pub(crate) struct OsStdio {
    /// Its stdin (`None`: fed from `RunRequest::input`).
    pub stdin: Option<std::os::fd::OwnedFd>,
    /// Its stdout (`None`: to `RunRequest::output` or captured).
    pub stdout: Option<std::os::fd::OwnedFd>,
}

/// Bytes moved per read between an OS pipe and an in-process pipe.
const CHUNK: usize = 64 << 10;

/// Writes the input into the child's stdin, then closes it (EOF). Stops
/// when the child closes its stdin (it exited, or does not read).
pub(super) async fn feed_stdin(input: Faasin, mut stdin: tokio::process::ChildStdin) {
    match input {
        Faasin::Bytes(bytes) => {
            let _ = stdin.write_all(&bytes).await;
        }
        Faasin::Unavailable => {}
        Faasin::Pipe(reader) => {
            while let ReadOutcome::Data(bytes) = reader.read(CHUNK).await {
                if stdin.write_all(&bytes).await.is_err() {
                    // The child stopped reading: dropping the reader breaks
                    // the pipe for the stage before, as a shell would.
                    break;
                }
            }
        }
    }
}

pub(super) enum Captured {
    /// All of it, when it was captured.
    Bytes(Bytes),
    /// It went to the next stage.
    Streamed,
    /// It passed the output limit.
    TooLarge,
}

/// Copies the child's stdout into the next stage's pipe, or captures it up
/// to `limit` bytes.
pub(super) async fn pump_stdout(
    mut stdout: tokio::process::ChildStdout,
    output: Option<PipeWriter>,
    limit: usize,
) -> Captured {
    let mut buffer = vec![0u8; CHUNK];
    match output {
        Some(writer) => {
            while let Ok(n) = stdout.read(&mut buffer).await {
                if n == 0
                    || writer
                        .write_all(Bytes::copy_from_slice(&buffer[..n]))
                        .await
                        .is_err()
                {
                    // EOF, or the next stage is gone: dropping stdout makes
                    // the child's next write fail with EPIPE.
                    break;
                }
            }
            Captured::Streamed
        }
        None => {
            let mut captured = Vec::new();
            while let Ok(n) = stdout.read(&mut buffer).await {
                if n == 0 {
                    return Captured::Bytes(Bytes::from(captured));
                }
                if captured.len() + n > limit {
                    return Captured::TooLarge;
                }
                captured.extend_from_slice(&buffer[..n]);
            }
            Captured::Bytes(Bytes::from(captured))
        }
    }
}

/// Reads the child's stderr into `log` until it closes. Past the log limit
/// the tail is kept and the process is not stopped for it: its stderr is a
/// pipe the kernel bounds.
pub(super) async fn drain_log(mut stderr: tokio::process::ChildStderr, log: &LogTail) {
    let mut buffer = vec![0u8; 4096];
    while let Ok(n) = stderr.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let _ = log.append(&buffer[..n]);
    }
}
