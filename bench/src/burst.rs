//! `faasrt-bench burst`: a long-running server's deploys and native starts
//! after it has run guests. A `faasrt serve` process (under its seccomp
//! filters, as in production) runs `hello` on every async thread, then
//! takes a burst of concurrent deploys (21 by default, the size of the
//! outside conformance suite that found the thread-role bug), as many
//! native invocations of `cat-native`, and `cat-native | grep 7 |
//! wc-native -l` pipelines; rounds are separated by a pause longer than the
//! host threads' keep-alive, so each burst needs new threads. Each request
//! counts as failed unless it answers 2xx with the right output.
//!
//! With `--baseline PATH` the same scenario runs in the same run against a
//! second `faasrt` binary (an older build), and each row gives its p50 as a
//! ratio to the baseline's.

use crate::http_client::{HttpClient, Outcome};
use crate::peers;
use crate::report::{self, Format, Row};
use crate::stats::Samples;
use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `faasrt-bench burst`.
#[derive(Debug, clap::Args)]
pub struct BurstArgs {
    /// The faasrt binary under test (default: `$FAASRT_BIN`, else the one
    /// next to this benchmark).
    #[arg(long)]
    pub faasrt: Option<PathBuf>,
    /// A second faasrt binary put through the same scenario in the same run.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Deploys per burst, and as many native invocations.
    #[arg(long, default_value_t = 21)]
    pub deploys: usize,
    /// Rounds of guest load and burst.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// One round.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory for CSV and JSON output.
    #[arg(long, default_value = "bench-out/burst")]
    pub out: PathBuf,
}

/// One result row: one kind of request on one binary.
#[derive(Debug, Serialize)]
pub struct BurstRow {
    binary: String,
    request: String,
    attempts: u64,
    failed: u64,
    p50_ms: f64,
    p99_ms: f64,
    /// p50 over the baseline binary's p50 for the same request (1 without
    /// a baseline).
    p50_ratio: f64,
    /// The first failure's answer, if any.
    first_failure: String,
}

impl Row for BurstRow {
    fn header() -> &'static [&'static str] {
        &[
            "binary",
            "request",
            "attempts",
            "failed",
            "p50_ms",
            "p99_ms",
            "p50_ratio",
            "first_failure",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.binary.clone(),
            self.request.clone(),
            self.attempts.to_string(),
            self.failed.to_string(),
            format!("{:.2}", self.p50_ms),
            format!("{:.2}", self.p99_ms),
            format!("{:.2}", self.p50_ratio),
            self.first_failure.clone(),
        ]
    }
}

/// Runs the benchmark.
///
/// # Errors
/// A server cannot be started or a fixture cannot be deployed.
pub fn run(args: BurstArgs) -> anyhow::Result<()> {
    let faasrt = peers::faasrt_binary(args.faasrt.as_deref())?;
    let rounds = if args.quick { 1 } else { args.rounds };
    let io = tokio::runtime::Runtime::new()?;
    let mut binaries = vec![("faasrt".to_owned(), faasrt)];
    if let Some(baseline) = &args.baseline {
        binaries.push(("baseline".to_owned(), baseline.clone()));
    }
    let mut results = Vec::new();
    for (label, binary) in &binaries {
        eprintln!("burst: {label} ({})", binary.display());
        let tallies = io.block_on(scenario(binary, args.deploys, rounds))?;
        results.push((label.clone(), tallies));
    }
    let baseline_p50 = |request: &str| {
        results
            .iter()
            .find(|(label, _)| label == "baseline")
            .and_then(|(_, tallies)| tallies.iter().find(|t| t.request == request))
            .map(|t| t.samples.quantile_us(0.5))
    };
    let rows: Vec<BurstRow> = results
        .iter()
        .flat_map(|(label, tallies)| {
            tallies.iter().map(|tally| {
                let p50 = tally.samples.quantile_us(0.5);
                BurstRow {
                    binary: label.clone(),
                    request: tally.request.to_owned(),
                    attempts: tally.attempts,
                    failed: tally.failures.len() as u64,
                    p50_ms: p50 / 1000.0,
                    p99_ms: tally.samples.quantile_us(0.99) / 1000.0,
                    p50_ratio: baseline_p50(tally.request).map_or(1.0, |base| p50 / base),
                    first_failure: tally.failures.first().cloned().unwrap_or_default(),
                }
            })
        })
        .collect();
    print!("{}", report::render(&rows, args.format)?);
    report::write_files(&rows, &args.out, "burst")?;
    Ok(())
}

/// What one kind of request did on one binary.
struct Tally {
    request: &'static str,
    attempts: u64,
    failures: Vec<String>,
    samples: Samples,
}

impl Tally {
    fn new(request: &'static str) -> Self {
        Tally {
            request,
            attempts: 0,
            failures: Vec::new(),
            samples: Samples::new(),
        }
    }

    fn add(&mut self, outcome: Outcome) {
        self.attempts += 1;
        self.samples.record(outcome.took);
        if let Err(answer) = outcome.result {
            // Kept short: a table cell.
            self.failures.push(answer.chars().take(120).collect());
        }
    }
}

/// Starts `binary`, deploys the fixtures, and runs `rounds` of guest load
/// and burst.
async fn scenario(binary: &Path, deploys: usize, rounds: usize) -> anyhow::Result<Vec<Tally>> {
    let scratch = tempfile::tempdir()?;
    let data_dir = scratch.path().join("data");
    let server = tokio::task::block_in_place(|| peers::start_faasrt_with(binary, &data_dir, &[]))?;
    let token = std::fs::read_to_string(data_dir.join("token")).context("the server's token")?;
    let http = HttpClient::new(&server, token.trim());
    deploy_fixtures(&http).await?;
    let mut tallies = [
        Tally::new("deploy"),
        Tally::new("native invoke"),
        Tally::new("native pipeline"),
    ];
    for round in 0..rounds {
        if round > 0 {
            // Longer than the host threads' default keep-alive (10 s):
            // every idle one leaves, and the burst needs new ones.
            tokio::time::sleep(Duration::from_secs(11)).await;
        }
        wasm_load(&http).await;
        let upper = Bytes::from_static(
            faasrt_example_artifacts::get("upper")
                .context("upper is an example")?
                .wasm,
        );
        let deploying = (0..deploys).map(|i| {
            let http = &http;
            let upper = upper.clone();
            async move {
                http.timed(
                    Method::PUT,
                    &format!("/v1/functions/burst-{round}-{i}"),
                    upper,
                    None,
                )
                .await
            }
        });
        let native = (0..deploys).map(|i| {
            let http = &http;
            async move {
                let input = format!("native {round} {i}\n");
                http.timed(
                    Method::POST,
                    "/v1/functions/cat-native/invoke",
                    Bytes::from(input.clone()),
                    Some(input),
                )
                .await
            }
        });
        let seq: String = (1..=1000).map(|n| format!("{n}\n")).collect();
        let pipelines = (0..8).map(|_| {
            let http = &http;
            let seq = seq.clone();
            async move {
                http.timed(
                    Method::POST,
                    "/v1/pipelines/run?spec=cat-native%20%7C%20grep%207%20%7C%20wc-native%20-l",
                    Bytes::from(seq),
                    Some("271\n".to_owned()),
                )
                .await
            }
        });
        let (deployed, invoked, piped) = futures::join!(
            futures::future::join_all(deploying),
            futures::future::join_all(native),
            futures::future::join_all(pipelines),
        );
        for (tally, outcomes) in tallies.iter_mut().zip([deployed, invoked, piped]) {
            for outcome in outcomes {
                tally.add(outcome);
            }
        }
    }
    drop(server);
    Ok(tallies.into())
}

/// hello and grep (wasm), cat-native and wc-native.
async fn deploy_fixtures(http: &HttpClient) -> anyhow::Result<()> {
    for name in ["hello", "grep"] {
        let wasm = faasrt_example_artifacts::get(name).context("example")?.wasm;
        http.must(
            Method::PUT,
            &format!("/v1/functions/{name}"),
            Bytes::from_static(wasm),
        )
        .await?;
    }
    for name in ["cat-native", "wc-native"] {
        let executable = faasrt_example_artifacts::get_native(name)
            .context("native examples are built on x86_64 Linux only")?
            .executable;
        http.must(
            Method::PUT,
            &format!("/v1/functions/{name}?kind=native"),
            Bytes::from_static(executable),
        )
        .await?;
    }
    Ok(())
}

/// 4 waves of 64 concurrent `hello` invocations: every async thread of the
/// server runs guests (and takes the guest-thread role).
async fn wasm_load(http: &HttpClient) {
    for _ in 0..4 {
        let calls = (0..64).map(|_| {
            http.timed(
                Method::POST,
                "/v1/functions/hello/invoke",
                Bytes::new(),
                Some("Hello, world!\n".to_owned()),
            )
        });
        futures::future::join_all(calls).await;
    }
}
