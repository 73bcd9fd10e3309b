//! What each subcommand does. Every command returns the process exit code;
//! errors are printed here, once, as text or as JSON with `--json`.

use crate::client::{ClientError, InvokeOutcome};
use crate::session::{CommandFuture, client};
use crate::{
    Cli, ClientArgs, Command, DeployArgs, InvokeArgs, PipeArgs, RmArgs, RunArgs, ServeArgs,
};
use anyhow::Context;
use bytes::Bytes;
use faasrt_runtime::{
    DeployOptions, FunctionInfo, FunctionLimits, RequestedLimits, Runtime, RuntimeConfig,
};
use faasrt_server::{Server, ServerConfig, Token};
use serde_json::json;
use std::io::{IsTerminal, Read, Write};

/// The name of the server's async threads, which take requests and run
/// guests (`/proc/<pid>/task/<tid>/comm`).
pub const API_THREAD_NAME: &str = "faasrt-api";

/// Exit code of the CLI itself when a command fails before any function ran.
const EXIT_FAILURE: i32 = 1;

pub(super) fn run(cli: Cli) -> i32 {
    let json = cli.json;
    let result = match cli.command {
        Command::Serve(args) => serve(args).map(|()| 0),
        Command::Deploy(args) => client_command(|| deploy(args, json)),
        Command::Invoke(args) => client_command(|| invoke(args, json)),
        Command::Ls(args) => client_command(|| list(args, json)),
        Command::Rm(args) => client_command(|| remove(args, json)),
        Command::Run(args) => client_command(|| run_local(args, json)),
        Command::Pipe(args) => client_command(|| pipe(args, json)),
        Command::Stream(command) => client_command(|| crate::stream_commands::run(command, json)),
        Command::Kv(command) => client_command(|| crate::kv_commands::run(command, json)),
        Command::Logs(args) => client_command(|| crate::log_commands::run(args, json)),
        Command::Doctor(engine) => doctor(&engine, json),
    };
    result.unwrap_or_else(|error| {
        report_error(&error, json);
        EXIT_FAILURE
    })
}

fn report_error(error: &anyhow::Error, json: bool) {
    if json {
        let body = match error.downcast_ref::<ClientError>() {
            Some(ClientError::Api { body, .. }) if !body.is_null() => body.clone(),
            _ => json!({ "error": { "code": "cli", "message": format!("{error:#}") } }),
        };
        println!("{body}");
    } else {
        eprintln!("faasrt: {error:#}");
    }
}

/// Client commands run on a small current-thread runtime.
fn client_command(command: impl FnOnce() -> CommandFuture) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(command())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let config = args
        .engine
        .apply(RuntimeConfig::new(&args.data_dir))
        .max_module_bytes(args.max_body)
        .max_input_bytes(args.max_body)
        .max_timeout_ms(args.max_timeout)
        .host_thread_keep_alive(args.host_thread_keep_alive)
        .max_preinit_ms(args.max_preinit)
        .slot_wait(args.slot_wait)
        .hw_counters(args.hw_counters)
        .default_limits(FunctionLimits {
            memory_mb: args.default_memory,
            timeout_ms: args.default_timeout,
            ..FunctionLimits::default()
        });
    let runtime = Runtime::open(config)?;
    let token = runtime
        .data_dir()
        .expect("a runtime opened on a data directory has one")
        .token()?;
    let io = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(API_THREAD_NAME)
        .build()
        .context("cannot start the server's async runtime")?;
    io.block_on(async move {
        let server_config = ServerConfig {
            listen: args.listen,
            auth_all: args.auth_all,
            max_body_bytes: args.max_body,
            source_dir: args.source_dir.clone(),
            sample_interval: (!args.sample_interval.is_zero()).then_some(args.sample_interval),
            otlp_endpoint: args.otlp_endpoint.clone(),
        };
        let server = Server::bind(runtime.clone(), Token::new(token), server_config)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        install_seccomp(args.seccomp, runtime.config());
        let address = server.local_addr()?;
        tracing::info!(
            "faasrt listening on http://{address} with {} functions; token in {}",
            runtime.list().len(),
            args.data_dir.join(faasrt_runtime::TOKEN_FILE).display()
        );
        if args.examples {
            crate::examples::prepare_in_background(&runtime);
        }
        server.run(shutdown_signal()).await;
        tracing::info!("faasrt stopped");
        Ok(())
    })
}

/// Installs the server threads' seccomp filter, once start-up is done (the
/// store is open, the port bound, the examples compiled).
fn install_seccomp(mode: crate::SeccompMode, config: &RuntimeConfig) {
    let mode = match mode {
        crate::SeccompMode::Off => {
            tracing::warn!("seccomp off: the server's threads run without a filter");
            return;
        }
        crate::SeccompMode::Enforce => faasrt_isolation::RuntimeSeccomp::Enforce,
        crate::SeccompMode::Log => faasrt_isolation::RuntimeSeccomp::Log,
    };
    if !faasrt_runtime::doctor::available(&faasrt_isolation::probe(), "seccomp") {
        tracing::warn!(
            "this machine has no seccomp filters: the server's threads run without one (see faasrt doctor)"
        );
        return;
    }
    let allowed = config.seccomp_allowances();
    match faasrt_runtime::install_server_seccomp_allowing(mode, allowed) {
        Ok(()) => {
            let refused = faasrt_isolation::RUNTIME_DENIED
                .iter()
                .filter(|rule| !allowed.contains(&rule.syscall))
                .count();
            tracing::info!(?mode, refused, ?allowed, "seccomp filter installed");
            // The SIGSYS handler can only count; the log says what it
            // counted: which syscall, on a thread of which role.
            tokio::spawn(report_denials());
        }
        Err(error) => tracing::error!(%error, "cannot install the seccomp filter"),
    }
}

/// Logs each syscall the server's filters refused, once a second: its
/// name and number, the role of the thread that made it, how many times.
async fn report_denials() {
    let mut seen = std::collections::HashMap::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        for denial in faasrt_isolation::denials() {
            let before = seen.insert((denial.role, denial.number), denial.count);
            let new = denial.count - before.unwrap_or(0);
            if new > 0 {
                tracing::warn!(
                    syscall = denial.name,
                    number = denial.number,
                    role = denial.role.label(),
                    new,
                    total = denial.count,
                    "seccomp refused a syscall in the server: {} ({}) on a {} thread",
                    denial.name,
                    denial.number,
                    denial.role.label(),
                );
            }
        }
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in progress");
}

/// The log filter without `RUST_LOG`: faasrt's info, and of wasmtime-wasi
/// and wiggle only warnings. wasmtime-wasi opens an info-level span around
/// every WASI call of a guest (`#[instrument]`), which the formatting
/// layer would record (its arguments formatted into a string) on every
/// call of every invocation: 7% of the server's CPU under load
/// (docs/decisions.md "Where an HTTP invocation's time goes").
pub(crate) const DEFAULT_LOG_FILTER: &str = "info,wasmtime_wasi=warn,wiggle=warn";

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn deploy(args: DeployArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let module = std::fs::read(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        let client = client(&args.client)?;
        let options = DeployOptions {
            args: args.args,
            limits: RequestedLimits {
                memory_mb: args.memory,
                timeout_ms: args.timeout,
                max_concurrency: args.max_concurrency,
                kv_max_keys: args.kv_max_keys,
                kv_max_bytes: args.kv_max_bytes,
            },
            code: faasrt_runtime::Code::from_settings(
                args.native,
                args.no_preinit,
                args.bounds_checks.map(Into::into),
            )?,
        };
        let info = client
            .deploy(&args.name, Bytes::from(module), &options)
            .await?;
        if json {
            println!("{}", serde_json::to_string(&info)?);
        } else {
            let preinit = match info.preinit_us {
                Some(us) => format!(", pre-initialized in {:.1} ms", us as f64 / 1000.0),
                None => String::new(),
            };
            println!(
                "deployed {} ({}, {} bytes{preinit})",
                info.name, info.digest, info.size
            );
        }
        Ok(0)
    })
}

fn invoke(args: InvokeArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let client = client(&args.client)?;
        let input = read_stdin()?;
        let outcome = client.invoke(&args.name, &args.args, input).await?;
        print_outcome(&outcome, json)
    })
}

fn doctor(engine: &crate::EngineArgs, json: bool) -> anyhow::Result<i32> {
    let mechanisms = faasrt_runtime::doctor::report(&engine.apply(RuntimeConfig::in_memory()));
    if json {
        println!("{}", serde_json::to_string(&mechanisms)?);
    } else {
        println!(
            "{:<16} {:<10} {:<7} DETAIL",
            "MECHANISM", "AVAILABLE", "ACTIVE"
        );
        for m in &mechanisms {
            let yes = |b: bool| if b { "yes" } else { "no" };
            println!(
                "{:<16} {:<10} {:<7} {}",
                m.name,
                yes(m.available),
                yes(m.active),
                m.detail
            );
        }
    }
    Ok(0)
}

fn pipe(args: PipeArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let client = client(&args.client)?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
        // stdin is read on a thread of its own (it blocks), chunk by chunk,
        // so a pipeline starts before its input ends, and `yes | faasrt
        // pipe 'head'` works: when the pipeline is over, faasrt exits and
        // this thread with it.
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buffer = vec![0u8; 64 << 10];
            loop {
                match stdin.read(&mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if sender
                            .blocking_send(Bytes::copy_from_slice(&buffer[..n]))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        let mut stdout = std::io::stdout().lock();
        let outcome = client
            .pipe(&args.spec, receiver, |bytes| {
                stdout.write_all(bytes)?;
                stdout.flush()
            })
            .await?;
        if json {
            let mut summary = json!({
                "exit_code": outcome.exit_code,
                "pipestatus": outcome.pipestatus,
            });
            if !outcome.stage_errors.is_empty() {
                summary["stage_errors"] = json!(outcome.stage_errors);
            }
            eprintln!("{summary}");
        } else {
            // As a shell says "command not found" for a stage it could not
            // start, whatever the last stage's status.
            for error in &outcome.stage_errors {
                eprintln!(
                    "faasrt: stage {} ({}): {}",
                    error.stage, error.function, error.message
                );
            }
        }
        Ok(outcome.exit_code)
    })
}

fn list(args: ClientArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let functions = client(&args)?.list().await?;
        if json {
            println!("{}", serde_json::to_string(&functions)?);
        } else {
            print_table(&functions);
        }
        Ok(0)
    })
}

fn remove(args: RmArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let removed = client(&args.client)?.remove(&args.name).await?;
        if json {
            println!("{}", serde_json::to_string(&removed)?);
        } else {
            println!("removed {}", removed.name);
        }
        Ok(0)
    })
}

fn run_local(args: RunArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let module = std::fs::read(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        let program = args
            .file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "main".into());
        let defaults = FunctionLimits::default();
        let limits = FunctionLimits {
            memory_mb: args.memory.unwrap_or(defaults.memory_mb),
            timeout_ms: args.timeout.unwrap_or(defaults.timeout_ms),
            ..defaults
        };
        let runtime = Runtime::open(RuntimeConfig::in_memory().max_instances(4))?;
        let input = read_stdin()?;
        let argv = std::iter::once(program).chain(args.args).collect();
        let invocation = runtime
            .run_module(Bytes::from(module), argv, input, limits)
            .await?;
        let error = invocation.status.failure_message().map(|message| {
            json!({ "error": {
                "code": invocation.status.label(),
                "message": message,
                "exit_code": invocation.status.exit_code(),
                "log_tail": invocation.log_tail,
            }})
        });
        // Locally the log is the terminal's: show it whether or not the
        // function failed.
        if !json && error.is_none() {
            eprint!("{}", invocation.log_tail);
        }
        let outcome = InvokeOutcome {
            exit_code: invocation.status.exit_code(),
            duration_us: invocation.duration.as_micros() as u64,
            output: invocation.output,
            error,
        };
        print_outcome(&outcome, json)
    })
}

/// Reads all of stdin, or nothing when stdin is a terminal (so `faasrt
/// invoke hello` does not wait for input nobody will type).
fn read_stdin() -> anyhow::Result<Bytes> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Bytes::new());
    }
    let mut input = Vec::new();
    stdin.read_to_end(&mut input).context("cannot read stdin")?;
    Ok(Bytes::from(input))
}

fn print_outcome(outcome: &InvokeOutcome, json: bool) -> anyhow::Result<i32> {
    if json {
        let mut value = json!({
            "exit_code": outcome.exit_code,
            "duration_us": outcome.duration_us,
            "output": String::from_utf8_lossy(&outcome.output),
        });
        if let Some(error) = &outcome.error {
            value["error"] = error["error"].clone();
        }
        println!("{value}");
        return Ok(outcome.exit_code);
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&outcome.output)?;
    stdout.flush()?;
    if let Some(error) = &outcome.error {
        let message = error["error"]["message"]
            .as_str()
            .unwrap_or("function failed");
        eprintln!("faasrt: {message}");
        if let Some(log) = error["error"]["log_tail"]
            .as_str()
            .filter(|l| !l.is_empty())
        {
            eprintln!("--- log tail ---\n{}", log.trim_end());
        }
    }
    Ok(outcome.exit_code)
}

fn print_table(functions: &[FunctionInfo]) {
    if functions.is_empty() {
        println!("no functions deployed");
        return;
    }
    let width = functions
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:>10}  {:<20}  DIGEST",
        "NAME", "SIZE", "DEPLOYED"
    );
    for function in functions {
        let short_digest: String = function.digest.chars().take(19).collect();
        println!(
            "{:width$}  {:>10}  {:<20}  {short_digest}",
            function.name, function.size, function.deployed_at
        );
    }
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_LOG_FILTER;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tracing_subscriber::layer::SubscriberExt;

    /// Counts the spans that reach it.
    struct SpanCount(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanCount {
        fn on_new_span(
            &self,
            _: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_default_filter_drops_wasmtime_wasis_per_call_spans_and_keeps_faasrts() {
        let count = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
            .with(SpanCount(count.clone()));
        tracing::subscriber::with_default(subscriber, || {
            // What `#[instrument]` on a WASI call opens (info, its target).
            let _call = tracing::info_span!(target: "wasmtime_wasi::p1", "fd_write").entered();
            assert_eq!(
                count.load(Ordering::SeqCst),
                0,
                "wasmtime-wasi's span is dropped"
            );
            let _ours = tracing::info_span!(target: "faasrt_cli", "serve").entered();
            assert_eq!(
                count.load(Ordering::SeqCst),
                1,
                "faasrt's own spans are kept"
            );
        });
    }
}
