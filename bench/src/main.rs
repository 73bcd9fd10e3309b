//! `faasrt-bench`: faasrt's benchmarks. Each subcommand measures one thing
//! against a baseline in the same run, prints a table (or CSV/JSON) with
//! median, p99 and the ratio to the baseline, and writes CSV, JSON and an SVG
//! plot under `--out`.

mod burst;
mod coldstart;
mod http_client;
mod hyper_floor;
mod inject;
mod invoke;
mod isolation;
mod load;
mod memory;
mod peers;
mod pipes;
mod report;
mod stats;
mod streams;

use clap::{Parser, Subcommand};

/// faasrt benchmarks.
#[derive(Debug, Parser)]
#[command(name = "faasrt-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Invocation of `hello` in process and over HTTP (1 and 32
    /// connections), against `wasmtime run` and `wasmtime serve`.
    Invoke(invoke::InvokeArgs),
    /// Start-to-answer latency of hello, init-heavy, go-hello and
    /// go-init-heavy in every start mode, and a restart with 50 functions.
    Coldstart(coldstart::ColdstartArgs),
    /// Throughput of cat chains (wasm, OS pipes, TCP loopback) and the
    /// latency of one hop for 1 KiB.
    Pipes(pipes::PipesArgs),
    /// hello's latency alone, beside hostile guests, and under the server
    /// threads' seccomp filter.
    Isolation(isolation::IsolationArgs),
    /// Deploys, native invocations and native pipelines in bursts, on a
    /// `faasrt serve` that has run guests; optionally against a baseline
    /// binary.
    Burst(burst::BurstArgs),
    /// What `faasrt serve` keeps in memory with every example deployed,
    /// invoked and restarted, against an empty server.
    Memory(memory::MemoryArgs),
    /// Whether faasrt-load's open-loop injector keeps up with what `faasrt
    /// serve` sustains, against a closed loop in the same run.
    Load(inject::LoadArgs),
    /// Long-running streams: stateless and keyed throughput, checkpoint
    /// overhead, epoch commits and recovery, against a Redis Streams chain.
    Streams(streams::StreamsArgs),
}

fn main() -> anyhow::Result<()> {
    faasrt_runtime::quiet_library_backtraces();
    match Cli::parse().command {
        Bench::Invoke(args) => invoke::run(args),
        Bench::Coldstart(args) => coldstart::run(args),
        Bench::Pipes(args) => pipes::run(args),
        Bench::Isolation(args) => isolation::run(args),
        Bench::Burst(args) => burst::run(args),
        Bench::Memory(args) => memory::run(args),
        Bench::Load(args) => inject::run(args),
        Bench::Streams(args) => streams::run(args),
    }
}
