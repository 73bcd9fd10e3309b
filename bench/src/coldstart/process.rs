//! The process modes of `faasrt-bench coldstart`, the peers faasrt's starts
//! are compared with: `process` (the peer `wasmtime run` on the
//! precompiled module) and `native-process` (fork/exec of the subject's
//! host build). Each sample is a new process, fed the subject's input and
//! reaped with `wait4` to learn its peak RSS.

use super::plan::Budget;
use super::subjects::Subject;
use crate::peers::WasmtimePeer;
use crate::stats::Samples;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// `wasmtime run` of the precompiled module, a new process each time;
/// returns the latencies and the largest peak RSS in KiB.
pub(super) fn wasmtime_run(
    peer: &WasmtimePeer,
    subject: &Subject,
    scratch: &Path,
    budget: Budget,
) -> anyhow::Result<(Samples, u64)> {
    let wasm = scratch.join(format!("{}.wasm", subject.name));
    let cwasm = scratch.join(format!("{}.cwasm", subject.name));
    std::fs::write(&wasm, subject.wasm)?;
    peer.precompile(&wasm, &cwasm)?;
    spawn_many(budget, &subject.input, &subject.expected, || {
        let mut command = Command::new(&peer.wasmtime);
        command.args(["run", "--allow-precompiled"]);
        if subject.reactor {
            command.args(["--invoke", "handle"]);
        }
        command.arg(&cwasm);
        command
    })
}

/// The host build of a Rust `subject`, a new process each time; returns
/// the latencies and the largest peak RSS in KiB.
pub(super) fn native_process(subject: &Subject, budget: Budget) -> anyhow::Result<(Samples, u64)> {
    let native = native_binary(subject.name)?;
    spawn_many(budget, &subject.input, &subject.expected, || {
        Command::new(&native)
    })
}

/// Spawns `command()` until the budget is spent, feeding `input` and
/// checking the output; returns the latencies and the largest peak RSS.
fn spawn_many(
    budget: Budget,
    input: &[u8],
    expected: &[u8],
    command: impl Fn() -> Command,
) -> anyhow::Result<(Samples, u64)> {
    let mut samples = Samples::new();
    let mut peak_rss_kib = 0;
    let started = Instant::now();
    while budget.wants_another(samples.len(), started) {
        let sent = Instant::now();
        let mut child = command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning")?;
        child.stdin.take().expect("piped").write_all(input)?;
        let mut output = Vec::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_end(&mut output)?;
        let (status, rss) = wait_with_rusage(child.id())?;
        samples.record(sent.elapsed());
        peak_rss_kib = peak_rss_kib.max(rss);
        // Reactors under `wasmtime run --invoke` print the returned status
        // after their output; only the function's own output is compared.
        if !output.starts_with(expected) || status != 0 {
            bail!(
                "process exited {status} with {:?}",
                String::from_utf8_lossy(&output)
            );
        }
    }
    Ok((samples, peak_rss_kib))
}

/// Reaps `pid` and returns its exit status and peak RSS in KiB.
fn wait_with_rusage(pid: u32) -> anyhow::Result<(i32, u64)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's `Child` was
    // never waited on); `status` and `usage` are valid out-pointers.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss as u64))
}

/// The host build of a Rust example (`<name>-native`, built by
/// `faasrt-example-artifacts` into target/native-examples).
fn native_binary(name: &str) -> anyhow::Result<PathBuf> {
    let native = format!("{name}-native");
    match faasrt_example_artifacts::get_native(&native) {
        Some(example) => Ok(example.path()),
        None => bail!("no native build of {name}: native examples are built on x86_64 Linux only"),
    }
}
