//! Starting the servers under test as processes, and finding the peers that
//! `bench/peers/install.sh` installed.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The wasmtime version of the peers; the same as faasrt's engine.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// A server process that is killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to stop (SIGTERM) and waits until it has; kills it when it
    /// has not after `patience`.
    pub fn stop(mut self, patience: Duration) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: a signal to the child this value owns and has not reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the server did not stop within {patience:?} of SIGTERM")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `faasrt` binary: `explicit`, else `$FAASRT_BIN`, else the one built
/// next to this benchmark.
pub fn faasrt_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidate = match (explicit, std::env::var_os("FAASRT_BIN")) {
        (Some(path), _) => path.to_owned(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => std::env::current_exe()?
            .parent()
            .context("the benchmark binary has no directory")?
            .join("faasrt"),
    };
    if !candidate.is_file() {
        bail!(
            "no faasrt binary at {} (build it with `cargo build --release --bin faasrt`, or pass --faasrt)",
            candidate.display()
        );
    }
    Ok(candidate)
}

/// Starts `faasrt serve --examples` on a free port with its store in
/// `data_dir`, and waits until it listens and its examples are ready.
pub fn start_faasrt(binary: &Path, data_dir: &Path) -> anyhow::Result<ServerProcess> {
    start_faasrt_with(binary, data_dir, &["--examples"])
}

/// Starts `faasrt serve FLAGS` on a free port with its store in `data_dir`,
/// and waits until it listens and has nothing left to prepare.
pub fn start_faasrt_with(
    binary: &Path,
    data_dir: &Path,
    flags: &[&str],
) -> anyhow::Result<ServerProcess> {
    start_faasrt_on(binary, data_dir, flags, None)
}

/// [`start_faasrt_with`], with every thread of the server on `cpus` when
/// given (set before exec, so every thread it starts inherits it).
pub fn start_faasrt_on(
    binary: &Path,
    data_dir: &Path,
    flags: &[&str],
    cpus: Option<&[usize]>,
) -> anyhow::Result<ServerProcess> {
    let mut command = Command::new(binary);
    if let Some(cpus) = cpus {
        let cpus = cpus.to_vec();
        // SAFETY: the closure runs in the forked child before exec and only
        // calls sched_setaffinity (async-signal-safe) through pin_to.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                faasrt_load::cpus::pin_to(&cpus).map_err(std::io::Error::other)
            });
        }
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(flags)
        .arg("--data-dir")
        .arg(data_dir)
        // The CLI's log target, by which the server says where it listens:
        // `faasrt_cli` since the layout split, `faasrt_runtime::cli` in
        // older builds, which `bench/compare-builds.sh` still runs.
        .env("RUST_LOG", "warn,faasrt_cli=info,faasrt_runtime::cli=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("faasrt serve exited before listening");
        };
        let line = line?;
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            break rest
                .split_whitespace()
                .next()
                .context("address")?
                .parse()
                .context("parsing the listen address")?;
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let server = ServerProcess { child, addr };
    wait_until_ready(addr, Duration::from_secs(600))?;
    Ok(server)
}

/// Waits until `GET /healthz` on `addr` says `{"status":"ok"}`: the server
/// deploys its examples after it starts listening.
fn wait_until_ready(addr: SocketAddr, patience: Duration) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + patience;
    let mut answer = String::new();
    while Instant::now() < deadline {
        answer.clear();
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let asked = write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            );
            if asked.is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.contains(r#"{"status":"ok"}"#)
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("faasrt on {addr} is not ready after {patience:?}: {answer}")
}

/// Where the peers live: `$FAASRT_BENCH_CACHE`, else `~/.cache/faasrt-bench`.
pub fn peer_cache() -> PathBuf {
    std::env::var_os("FAASRT_BENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/faasrt-bench")
        })
}

/// The installed peer: wasmtime-cli and the wasi:http hello component.
pub struct WasmtimePeer {
    /// The `wasmtime` executable.
    pub wasmtime: PathBuf,
    /// The precompiled wasi:http hello component.
    pub http_hello: PathBuf,
}

impl WasmtimePeer {
    /// Finds the peer in `cache`, or says how to install it.
    pub fn find(cache: &Path) -> anyhow::Result<Self> {
        let wasmtime = cache.join(format!("wasmtime-{WASMTIME_VERSION}/bin/wasmtime"));
        let http_hello = cache.join("wasi-http-hello.cwasm");
        if !wasmtime.is_file() || !http_hello.is_file() {
            bail!(
                "the wasmtime {WASMTIME_VERSION} peer is not installed in {} (run bench/peers/install.sh)",
                cache.display()
            );
        }
        Ok(WasmtimePeer {
            wasmtime,
            http_hello,
        })
    }

    /// Starts `wasmtime serve` on the hello component and waits until it
    /// accepts connections.
    pub fn serve(&self) -> anyhow::Result<ServerProcess> {
        let addr = free_port()?;
        let child = Command::new(&self.wasmtime)
            .args(["serve", "-S", "cli=y", "--allow-precompiled", "--addr"])
            .arg(addr.to_string())
            .arg(&self.http_hello)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting wasmtime serve")?;
        let server = ServerProcess { child, addr };
        wait_for_listener(addr, Duration::from_secs(20))?;
        Ok(server)
    }

    /// Precompiles `wasm` into `out` with `wasmtime compile`.
    pub fn precompile(&self, wasm: &Path, out: &Path) -> anyhow::Result<()> {
        let status = Command::new(&self.wasmtime)
            .arg("compile")
            .arg(wasm)
            .arg("-o")
            .arg(out)
            .status()
            .context("running wasmtime compile")?;
        if !status.success() {
            bail!("wasmtime compile {} failed: {status}", wasm.display());
        }
        Ok(())
    }
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

fn wait_for_listener(addr: SocketAddr, patience: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on {addr} after {patience:?}")
}
