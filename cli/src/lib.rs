//! The `faasrt` command line: argument definitions (here), what each
//! command does (`commands`), the HTTP client of the client commands
//! (`client`), the example functions `serve --examples` deploys
//! (`examples`) and the units flags are written in (`units`).
//! `src/main.rs` only parses and calls [`run`].
//!
//! This crate is the shell: it turns flags into calls of `faasrt-runtime`
//! and `faasrt-server` and their results into output and exit codes. What
//! must not live here: behaviour a library user would need too.

mod client;
mod commands;
mod examples;
mod kv_commands;
mod log_commands;
mod session;
mod stream_commands;
mod units;

pub use client::{ChannelBody, Client, ClientError, PipeOutcome, StageError};
pub use commands::API_THREAD_NAME;
pub use units::{parse_duration_ms, parse_memory_mb};

use clap::{Args, Parser, Subcommand};
use faasrt_runtime::BoundsChecks;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default address of `faasrt serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default server URL of the client commands.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./.faasrt";

/// faasrt: a Function-as-a-Service runtime for WebAssembly functions.
#[derive(Debug, Parser)]
#[command(name = "faasrt", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of human output.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: HTTP API, embedded store.
    Serve(ServeArgs),
    /// Deploy (or replace) a function from a wasm file.
    Deploy(DeployArgs),
    /// Invoke a function: stdin is its input, its output goes to stdout, and
    /// faasrt exits with the function's exit code.
    Invoke(InvokeArgs),
    /// List deployed functions.
    Ls(ClientArgs),
    /// Remove a function.
    Rm(RmArgs),
    /// Run a wasm file once, locally, without a server (same semantics as
    /// invoke).
    Run(RunArgs),
    /// Show which isolation mechanisms this machine offers and which faasrt
    /// uses (`--json`: one object per mechanism), for the engine settings
    /// given (those of `faasrt serve`).
    Doctor(EngineArgs),
    /// Run a pipeline on the server, e.g. `faasrt pipe 'grep error | wc -l'`:
    /// stdin streams into the first stage, the last stage's output streams
    /// to stdout, and faasrt exits with the last stage's status.
    Pipe(PipeArgs),
    /// Manage long-running streams: create, start, drain, stop, status,
    /// scale, upgrade, ls, rm; send records and read their output.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// Read and write a function's key-value state: ls, get, put, rm.
    #[command(subcommand)]
    Kv(KvCommand),
    /// Print a function's recent logs (each line prefixed by its
    /// invocation's number); `-f` keeps printing each new invocation's log
    /// as it ends, until interrupted.
    Logs(LogsArgs),
}

/// Options of `faasrt logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Function name.
    pub name: String,
    /// Keep printing new invocations' logs as they end.
    #[arg(short, long)]
    pub follow: bool,
    /// Only invocations after this journal number (`GET /v1/invocations`'s
    /// `seq`).
    #[arg(long, default_value_t = 0)]
    pub since: u64,
    /// Only this invocation's log (its journal number).
    #[arg(long, conflicts_with = "follow")]
    pub invocation: Option<u64>,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The `faasrt kv` subcommands. Keys are given as text.
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// List a function's keys with the size of each value, and what its
    /// state holds of its quota.
    Ls {
        /// Function name.
        function: String,
        /// Only keys that start with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// List at most this many keys (default: all).
        #[arg(long)]
        limit: Option<usize>,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the value of KEY, as its bytes.
    Get(KvKeyArgs),
    /// Set the value of KEY to VALUE, or to stdin without VALUE.
    Put {
        /// Function name.
        function: String,
        /// The key.
        key: String,
        /// The value; read from stdin when left out.
        value: Option<String>,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete KEY (not an error if it has no value).
    Rm(KvKeyArgs),
}

/// A function and one of its keys.
#[derive(Debug, Args)]
pub struct KvKeyArgs {
    /// Function name.
    pub function: String,
    /// The key.
    pub key: String,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The `faasrt stream` subcommands.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Create a stream from a JSON spec (a file, or `-` for stdin).
    Create {
        /// Stream name.
        name: String,
        /// The spec file: `{"stages": [{"function", "args", "replicas", "key"}], ...}`.
        spec: PathBuf,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Start (or resume) a stream from its last checkpoint.
    Start(StreamNameArgs),
    /// Take a final checkpoint of what the input holds, then stop.
    Drain(StreamNameArgs),
    /// Stop now; the epoch in progress is replayed at the next start.
    Stop(StreamNameArgs),
    /// Show a stream's state, per stage and replica.
    Status(StreamNameArgs),
    /// Rescale stage INDEX (counted from 0) to N replicas, at a barrier.
    Scale {
        /// Stream name.
        name: String,
        /// The stage, counted from 0.
        index: usize,
        /// Its new replica count.
        replicas: u32,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Upgrade stage INDEX (counted from 0) to FUNCTION at a barrier,
    /// keeping its state; rolled back if it fails before its first
    /// checkpoint.
    Upgrade {
        /// Stream name.
        name: String,
        /// The stage, counted from 0.
        index: usize,
        /// The deployed function it runs from now on.
        function: String,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List the streams.
    Ls(ClientArgs),
    /// Delete a stopped stream, its logs and its state.
    Rm(StreamNameArgs),
    /// Append stdin's records to a stream's input log (acknowledged once
    /// durable).
    Send(StreamNameArgs),
    /// Print the committed output from an offset; `--follow` keeps waiting
    /// for more.
    Output {
        /// Stream name.
        name: String,
        /// The first offset to print.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Keep printing as epochs commit, until interrupted.
        #[arg(long)]
        follow: bool,
        /// Server and token.
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// A stream's name, and the server.
#[derive(Debug, Args)]
pub struct StreamNameArgs {
    /// Stream name.
    pub name: String,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Options of `faasrt pipe`.
#[derive(Debug, Args)]
pub struct PipeArgs {
    /// The stages, shell-like: `grep error | wc -l`.
    pub spec: String,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Options of `faasrt serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Directory of the store and the token.
    #[arg(long, env = "FAASRT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Deploy the example functions (hello, upper, cat, grep, wc, head, ...;
    /// the Go ones when built; and the native cat-native, grep-native,
    /// wc-native, ...).
    #[arg(long)]
    pub examples: bool,
    /// Require the token for reads and invocations too, not only for
    /// deploy and remove.
    #[arg(long)]
    pub auth_all: bool,
    /// Largest request body (module or input), e.g. 64MiB.
    #[arg(long, default_value = "64MiB", value_parser = units::parse_bytes)]
    pub max_body: usize,
    /// Directory that streams' file sources (`"source": {"file": ...}`)
    /// are read from; default: `sources` in the data directory. Created
    /// (mode 0700) if missing.
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    /// The engine: slots, bounds checks, protection keys, memory cap.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Memory of a function deployed without `--memory` (at most
    /// `--max-memory`).
    #[arg(long, default_value = "256MiB", value_parser = units::parse_memory_mb)]
    pub default_memory: u32,
    /// Longest timeout any function may have (the cap on `--timeout` at
    /// deploy), e.g. 15m.
    #[arg(long, default_value = "15m", value_parser = units::parse_duration_ms)]
    pub max_timeout: u64,
    /// Timeout of a function deployed without `--timeout` (at most
    /// `--max-timeout`).
    #[arg(long, default_value = "30s", value_parser = units::parse_duration_ms)]
    pub default_timeout: u64,
    /// The seccomp filter of the server's own threads: `enforce` refuses
    /// (EPERM), counts and logs what faasrt never calls; `log` lets it
    /// through to the kernel's audit log; `off`.
    #[arg(long, value_enum, default_value = "enforce")]
    pub seccomp: SeccompMode,
    /// Longest a module's pre-initialization (`wizer-initialize`) may run
    /// at deploy, wall clock, e.g. 10s; past it the deploy fails with
    /// `preinit_failed`.
    #[arg(long, default_value = "10s", value_parser = units::parse_duration_ms)]
    pub max_preinit: u64,
    /// How long an invocation may wait in line for a free instance slot
    /// (or its function's concurrency permit) before it gets 429, e.g.
    /// 500ms; 0 refuses at once. Pipelines never wait.
    #[arg(long, default_value = "0s", value_parser = units::parse_wait)]
    pub slot_wait: std::time::Duration,
    /// Count each invocation's and pipeline stage's CPU cycles,
    /// instructions and LLC misses with hardware counters (the journal's
    /// `cycles`, `instructions`, `llc_misses`; null where this machine
    /// refuses them, and `faasrt doctor` says why). Lets the server's
    /// threads call perf_event_open under --seccomp.
    #[arg(long)]
    pub hw_counters: bool,
    /// How long an idle host thread (compilation, store writes, native
    /// spawns) stays before it exits, e.g. 10s; new ones start as work
    /// needs them.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub host_thread_keep_alive: std::time::Duration,
    /// How often the platform is sampled for `GET /v1/platform` (CPU per
    /// core, memory, slots, in flight, ...), e.g. 1s; 0 turns sampling off.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub sample_interval: std::time::Duration,
    /// Export every invocation and pipeline stage as an OpenTelemetry span
    /// to this OTLP/HTTP receiver (protobuf, http:// only), e.g.
    /// http://localhost:4318 (`/v1/traces` is appended unless the URL ends
    /// in it); default: no export.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<faasrt_server::OtlpEndpoint>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    units::parse_duration_ms(text).map(std::time::Duration::from_millis)
}

/// How the wasm engine is set up: shared by `faasrt serve` and
/// `faasrt doctor`, so that doctor reports what a server with the same
/// flags would do.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Most invocations running at once; more get 429.
    #[arg(long, default_value_t = 256)]
    pub max_instances: u32,
    /// How wasm code stays in its memory, for functions deployed without
    /// their own `--bounds-checks`: `explicit` (fastest, steadiest starts,
    /// scales across cores) or `guard-pages` (fastest compute, memories
    /// striped with protection keys where the CPU has them); see
    /// docs/decisions.md.
    #[arg(long, value_enum, default_value = "explicit")]
    pub bounds_checks: BoundsChecksArg,
    /// Whether guest memories may be striped with memory protection keys
    /// (guard-pages functions, where the CPU has `pku`).
    #[arg(long, value_enum, default_value = "auto")]
    pub memory_protection_keys: MemoryProtectionKeys,
    /// Largest linear memory any function may have (the cap on
    /// `--memory` at deploy), e.g. 256MiB; smaller caps let protection keys
    /// pack more slots into the address space.
    #[arg(long, default_value = "4GiB", value_parser = units::parse_memory_mb)]
    pub max_memory: u32,
}

impl EngineArgs {
    /// `config` with these settings.
    pub fn apply(&self, config: faasrt_runtime::RuntimeConfig) -> faasrt_runtime::RuntimeConfig {
        config
            .max_instances(self.max_instances)
            .max_memory_mb(self.max_memory)
            .bounds_checks(self.bounds_checks.into())
            .memory_protection_keys(self.memory_protection_keys == MemoryProtectionKeys::Auto)
    }
}

/// `--bounds-checks` of `faasrt serve`, `doctor` and `deploy`: the
/// library's [`BoundsChecks`], spelled for clap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BoundsChecksArg {
    /// The code checks every access itself: no guard region, no memory
    /// protection change per instance, so starts stay fast under
    /// concurrency; compute pays for the checks.
    Explicit,
    /// Guard regions and signals catch out-of-bounds accesses: the fastest
    /// compute, but each instance whose memory grew costs a protection
    /// change and a TLB shoot-down of every core running faasrt. Memories
    /// are striped with protection keys where wasmtime finds them.
    GuardPages,
}

impl From<BoundsChecksArg> for BoundsChecks {
    fn from(arg: BoundsChecksArg) -> Self {
        match arg {
            BoundsChecksArg::Explicit => BoundsChecks::Explicit,
            BoundsChecksArg::GuardPages => BoundsChecks::GuardPages,
        }
    }
}

/// `faasrt serve --memory-protection-keys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryProtectionKeys {
    /// Use them where the CPU and kernel offer them.
    Auto,
    /// Never use them for guest memories.
    Off,
}

/// `faasrt serve --seccomp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeccompMode {
    /// Refuse, count and log.
    Enforce,
    /// Allow and let the kernel log.
    Log,
    /// No filter.
    Off,
}

/// Where the client commands find the server and its token.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// URL of the faasrt server.
    #[arg(long, env = "FAASRT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// Data directory to read the token from when FAASRT_TOKEN is not set.
    #[arg(long, env = "FAASRT_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

/// Options of `faasrt deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Function name: [a-z0-9][a-z0-9_-]{0,62}.
    pub name: String,
    /// The wasm module.
    pub file: PathBuf,
    /// An argument passed before each invocation's own (repeatable).
    #[arg(long = "arg", value_name = "ARG")]
    pub args: Vec<String>,
    /// Memory limit of an instance, e.g. 64MiB.
    #[arg(long, value_parser = parse_memory_mb)]
    pub memory: Option<u32>,
    /// Time limit of an invocation, e.g. 2s or 500ms.
    #[arg(long, value_parser = parse_duration_ms)]
    pub timeout: Option<u64>,
    /// Most invocations of this function at once; more get 429.
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Most keys the function's key-value state may hold (default 100000).
    #[arg(long)]
    pub kv_max_keys: Option<u64>,
    /// Most bytes its key-value state may hold, keys and values, e.g.
    /// 64MiB (the default).
    #[arg(long, value_parser = units::parse_byte_count)]
    pub kv_max_bytes: Option<u64>,
    /// Do not pre-initialize, even if the module exports `wizer-initialize`.
    #[arg(long)]
    pub no_preinit: bool,
    /// FILE is an x86_64 Linux executable, run as a sandboxed child process.
    #[arg(long)]
    pub native: bool,
    /// This function's bounds checks: `explicit` or `guard-pages`
    /// (compute-heavy code); default: the server's `--bounds-checks`.
    #[arg(long, value_enum)]
    pub bounds_checks: Option<BoundsChecksArg>,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Options of `faasrt invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The function.
    pub name: String,
    /// Arguments for the function (everything after the name).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Options of `faasrt rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The function.
    pub name: String,
    /// Server and token.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Options of `faasrt run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Memory limit of the instance, e.g. 64MiB.
    #[arg(long, value_parser = parse_memory_mb)]
    pub memory: Option<u32>,
    /// Time limit, e.g. 2s.
    #[arg(long, value_parser = parse_duration_ms)]
    pub timeout: Option<u64>,
    /// The wasm module.
    pub file: PathBuf,
    /// Arguments for the function (everything after the file).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub use faasrt_runtime::quiet_library_backtraces;

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    commands::run(cli)
}
